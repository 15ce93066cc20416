from collections import *

baseline = {'music': 'bach', 'art': 'rembrandt'}
adjustments = {'art': 'van gogh', 'opera': 'carmen'}
print(repr(list(ChainMap(adjustments, baseline))))

combined = baseline.copy()
combined.update(adjustments)
print(repr(list(combined)))

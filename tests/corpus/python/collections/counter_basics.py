from collections import *

c = Counter()                           # a new, empty counter
c = Counter('gallahad')                 # a new counter from an iterable
c = Counter({'red': 4, 'blue': 2})      # a new counter from a mapping
c = Counter(cats=4, dogs=8)             # a new counter from keyword args

c = Counter(['eggs', 'ham'])
print(repr(c['bacon']))                              # count of a missing element is zero

c['sausage'] = 0                        # counter entry with a zero count
del c['sausage']                        # del actually removes the entry

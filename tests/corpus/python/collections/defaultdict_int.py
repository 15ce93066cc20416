from collections import *

s = 'mississippi'
d = defaultdict(int)
for k in s:
    d[k] += 1
print(repr(sorted(d.items())))

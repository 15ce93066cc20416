from collections import *

c = Counter(a=3, b=1)
d = Counter(a=1, b=2)
print(repr(c + d))                       # add two counters together:  c[x] + d[x]
print(repr(c - d))                       # subtract (keeping only positive counts)
print(repr(c & d))                       # intersection:  min(c[x], d[x])
print(repr(c | d))                       # union:  max(c[x], d[x])
print(repr(c == d))                      # equality:  c[x] == d[x]
print(repr(c <= d))                      # inclusion:  c[x] <= d[x]

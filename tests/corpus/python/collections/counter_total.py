from collections import *

c = Counter(a=10, b=5, c=0)
print(repr(c.total()))

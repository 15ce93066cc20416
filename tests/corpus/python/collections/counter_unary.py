from collections import *

c = Counter(a=2, b=-4)
print(repr(+c))
print(repr(-c))

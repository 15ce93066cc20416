from collections import *

c = Counter(a=4, b=2, c=0, d=-2)
print(repr(sorted(c.elements())))

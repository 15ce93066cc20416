from collections import *

Point = namedtuple('Point', ['x', 'y'])

t = [11, 22]
print(repr(Point._make(t)))

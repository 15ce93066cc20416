from collections import *

Point = namedtuple('Point', ['x', 'y'])

p = Point(11, y=22)     # instantiate with positional or keyword arguments

print(repr(getattr(p, 'x')))

d = {'x': 11, 'y': 22}
print(repr(Point(**d)))

from collections import *

# Basic example
Point = namedtuple('Point', ['x', 'y'])
p = Point(11, y=22)     # instantiate with positional or keyword arguments
print(repr(p[0] + p[1]))             # indexable like the plain tuple (11, 22)
x, y = p                # unpack like a regular tuple
print(repr((x, y)))
print(repr(p.x + p.y))               # fields also accessible by name
print(repr(p))                       # readable __repr__ with a name=value style

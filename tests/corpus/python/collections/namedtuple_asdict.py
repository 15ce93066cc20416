from collections import *

Point = namedtuple('Point', ['x', 'y'])

p = Point(x=11, y=22)
print(repr(p._asdict()))

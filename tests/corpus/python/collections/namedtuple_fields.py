from collections import *

Point = namedtuple('Point', ['x', 'y'])

p = Point(11, y=22)     # instantiate with positional or keyword arguments

print(repr(p._fields))            # view the field names
Color = namedtuple('Color', 'red green blue')
Pixel = namedtuple('Pixel', Point._fields + Color._fields)
print(repr(Pixel(11, 22, 128, 255, 0)))

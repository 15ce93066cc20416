from itertools import *

print(repr(list(map(pow, range(10), repeat(2)))))

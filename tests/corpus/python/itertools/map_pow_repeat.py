from itertools import *

import operator
for cube in map(operator.pow, range(1,4), repeat(3)):
   print(cube)

from itertools import *

import collections
import functools
import math
import operator
import random

def prepend(value, iterable):
    "Prepend a single value in front of an iterable."
    # prepend(1, [2, 3, 4]) → 1 2 3 4
    return chain([value], iterable)

print(repr(list(prepend(1, [2, 3, 4]))))

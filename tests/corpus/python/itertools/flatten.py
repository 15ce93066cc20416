from itertools import *

import collections
import functools
import math
import operator
import random

def flatten(list_of_lists):
    "Flatten one level of nesting."
    return chain.from_iterable(list_of_lists)

a = [[1, 2, 3], [4, 5, 6]]
print(repr(list(flatten(a))))

print(repr(list(flatten([('a', 'b'), (), ('c', 'd', 'e'), ('f',), ('g', 'h', 'i')]))))

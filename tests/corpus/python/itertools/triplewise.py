from itertools import *

import collections
import functools
import math
import operator
import random

def triplewise(iterable):
    "Return overlapping triplets from an iterable"
    # triplewise('ABCDEFG') → ABC BCD CDE DEF EFG
    for (a, _), (b, c) in pairwise(pairwise(iterable)):
        yield a, b, c

print(repr(list(triplewise('ABCDEFG'))))

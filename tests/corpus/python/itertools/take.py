from itertools import *

import collections
import functools
import math
import operator
import random

def take(n, iterable):
    "Return first n items of the iterable as a list."
    return list(islice(iterable, n))

print(repr(take(10, count())))
# Verify that the input is consumed lazily
it = iter('abcdef')
print(repr(take(3, it)))
print(repr(list(it)))

from itertools import *

import collections
import functools
import math
import operator
import random

def first_true(iterable, default=False, predicate=None):
    "Returns the first true value or the *default* if there is no true value."
    # first_true([a,b,c], x) → a or b or c or x
    # first_true([a,b], x, f) → a if f(a) else b if f(b) else x
    return next(filter(predicate, iterable), default)

print(repr(first_true('ABC0DEF1', '9', str.isdigit)))
# Verify that inputs are consumed lazily
it = iter('ABC0DEF1')
print(repr(first_true(it, predicate=str.isdigit)))
print(repr(''.join(it)))

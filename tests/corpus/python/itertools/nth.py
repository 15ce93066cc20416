from itertools import *

import collections
import functools
import math
import operator
import random

def nth(iterable, n, default=None):
    "Returns the nth item or a default value."
    return next(islice(iterable, n, None), default)

print(repr(nth('abcde', 3)))
print(repr(nth('abcde', 9) is None))
# Verify that the input is consumed lazily
it = iter('abcde')
print(repr(nth(it, 2)))
print(repr(list(it)))

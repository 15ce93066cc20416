from itertools import *

import collections
import functools
import math
import operator
import random

def partition(predicate, iterable):
    """Partition entries into false entries and true entries.

    If *predicate* is slow, consider wrapping it with functools.lru_cache().
    """
    # partition(is_odd, range(10)) → 0 2 4 6 8   and  1 3 5 7 9
    t1, t2 = tee(iterable)
    return filterfalse(predicate, t1), filter(predicate, t2)

def is_odd(x):
    return x % 2 == 1
evens, odds = partition(is_odd, range(10))
print(repr(list(evens)))
print(repr(list(odds)))
# Verify that the input is consumed lazily
input_iterator = iter(range(10))
evens, odds = partition(is_odd, input_iterator)
print(repr(next(odds)))
print(repr(next(odds)))
print(repr(next(evens)))
print(repr(list(input_iterator)))

from itertools import *

import collections
import functools
import math
import operator
import random

def iter_index(iterable, value, start=0, stop=None):
    "Return indices where a value occurs in a sequence or iterable."
    # iter_index('AABCADEAF', 'A') → 0 1 4 7
    seq_index = getattr(iterable, 'index', None)
    if seq_index is None:
        # Path for general iterables
        it = islice(iterable, start, stop)
        for i, element in enumerate(it, start):
            if element is value or element == value:
                yield i
    else:
        # Path for sequences with an index() method
        stop = len(iterable) if stop is None else stop
        i = start
        try:
            while True:
                yield (i := seq_index(value, i, stop))
                i += 1
        except ValueError:
            pass

print(repr(list(iter_index('AABCADEAF', 'A'))))
print(repr(list(iter_index('AABCADEAF', 'B'))))
print(repr(list(iter_index('AABCADEAF', 'X'))))
print(repr(list(iter_index('', 'X'))))
print(repr(list(iter_index('AABCADEAF', 'A', 1))))
print(repr(list(iter_index(iter('AABCADEAF'), 'A', 1))))
print(repr(list(iter_index('AABCADEAF', 'A', 2))))
print(repr(list(iter_index(iter('AABCADEAF'), 'A', 2))))
print(repr(list(iter_index('AABCADEAF', 'A', 10))))
print(repr(list(iter_index(iter('AABCADEAF'), 'A', 10))))
print(repr(list(iter_index('AABCADEAF', 'A', 1, 7))))
print(repr(list(iter_index(iter('AABCADEAF'), 'A', 1, 7))))

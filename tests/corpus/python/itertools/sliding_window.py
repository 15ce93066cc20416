from itertools import *

import collections
import functools
import math
import operator
import random

def sliding_window(iterable, n):
    "Collect data into overlapping fixed-length chunks or blocks."
    # sliding_window('ABCDEFG', 4) → ABCD BCDE CDEF DEFG
    it = iter(iterable)
    window = collections.deque(islice(it, n-1), maxlen=n)
    for x in it:
        window.append(x)
        yield tuple(window)

print(repr(list(sliding_window('ABCDEFG', 1))))
print(repr(list(sliding_window('ABCDEFG', 2))))
print(repr(list(sliding_window('ABCDEFG', 3))))
print(repr(list(sliding_window('ABCDEFG', 4))))
print(repr(list(sliding_window('ABCDEFG', 5))))
print(repr(list(sliding_window('ABCDEFG', 6))))
print(repr(list(sliding_window('ABCDEFG', 7))))
print(repr(list(sliding_window('ABCDEFG', 8))))

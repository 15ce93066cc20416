from itertools import *

import collections
import functools
import math
import operator
import random

def take(n, iterable):
    "Return first n items of the iterable as a list."
    return list(islice(iterable, n))

def all_equal(iterable, key=None):
    "Returns True if all the elements are equal to each other."
    # all_equal('4٤໔４৪', key=int) → True
    return len(take(2, groupby(iterable, key))) <= 1

print(repr([all_equal(s) for s in ('', 'A', 'AAAA', 'AAAB', 'AAABA')]))
print(repr([all_equal(s, key=str.casefold) for s in ('', 'A', 'AaAa', 'AAAB', 'AAABA')]))
# Verify that the input is consumed lazily and that only
# one element of a second equivalence class is used to disprove
# the assertion that all elements are equal.
it = iter('aaabbbccc')
print(repr(all_equal(it)))
print(repr(''.join(it)))

from itertools import *

import collections
import functools
import math
import operator
import random

def powerset(iterable):
    "powerset([1,2,3]) → () (1,) (2,) (3,) (1,2) (1,3) (2,3) (1,2,3)"
    s = list(iterable)
    return chain.from_iterable(combinations(s, r) for r in range(len(s)+1))

print(repr(list(powerset([1,2,3]))))
print(repr(all(len(list(powerset(range(n)))) == 2**n for n in range(18))))
print(repr(list(powerset('abcde')) == sorted(sorted(set(powerset('abcde'))), key=len)))

from itertools import *

import collections
import functools
import math
import operator
import random

def nth_combination(iterable, r, index):
    "Equivalent to list(combinations(iterable, r))[index]"
    pool = tuple(iterable)
    n = len(pool)
    c = math.comb(n, r)
    if index < 0:
        index += c
    if index < 0 or index >= c:
        raise IndexError
    result = []
    while r:
        c, n, r = c*r//n, n-1, r-1
        while index >= c:
            index -= c
            c, n = c*(n-r)//n, n-1
        result.append(pool[-1-n])
    return tuple(result)

population = 'ABCDEFGH'
for r in range(len(population) + 1):
    seq = list(combinations(population, r))
    for i in range(len(seq)):
        assert nth_combination(population, r, i) == seq[i]
    for i in range(-len(seq), 0):
        assert nth_combination(population, r, i) == seq[i]
iterable = 'abcde'
r = 3
combos = list(combinations(iterable, r))
print(repr(all(nth_combination(iterable, r, i) == comb for i, comb in enumerate(combos))))

from itertools import *

import collections
import functools
import math
import operator
import random

def roundrobin(*iterables):
    "Visit input iterables in a cycle until each is exhausted."
    # roundrobin('ABC', 'D', 'EF') → A D E B F C
    # Algorithm credited to George Sakkis
    iterators = map(iter, iterables)
    for num_active in range(len(iterables), 0, -1):
        iterators = cycle(islice(iterators, num_active))
        yield from map(next, iterators)

print(repr(list(roundrobin('abc', 'd', 'ef'))))
ranges = [range(5, 1000), range(4, 3000), range(0), range(3, 2000), range(2, 5000), range(1, 3500)]
print(repr(collections.Counter(roundrobin(*ranges)) == collections.Counter(chain(*ranges))))
# Verify that the inputs are consumed lazily
input_iterators = list(map(iter, ['abcd', 'ef', '', 'ghijk', 'l', 'mnopqr']))
output_iterator = roundrobin(*input_iterators)
print(repr(''.join(islice(output_iterator, 10))))
print(repr(''.join(chain(*input_iterators))))

from itertools import *

import collections
import functools
import math
import operator
import random

def consume(iterator, n=None):
    "Advance the iterator n-steps ahead. If n is None, consume entirely."
    # Use functions that consume iterators at C speed.
    if n is None:
        # feed the entire iterator into a zero-length deque
        collections.deque(iterator, maxlen=0)
    else:
        # advance to the empty slice starting at position n
        next(islice(iterator, n, n), None)

it = iter(range(10))
consume(it, 3)
# Verify the input is consumed lazily
print(repr(next(it)))
# Verify the input is consumed completely
consume(it)
print(repr(next(it, 'Done')))

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

# Verify that both paths can find identical NaN values
x = float('NaN')
y = float('NaN')
print(repr(list(iter_index([0, x, x, y, 0], x))))
print(repr(list(iter_index(iter([0, x, x, y, 0]), x))))
# Test list input. Lists do not support None for the stop argument
print(repr(list(iter_index(list('AABCADEAF'), 'A'))))
# Verify that input is consumed lazily
input_iterator = iter('AABCADEAF')
output_iterator = iter_index(input_iterator, 'A')
print(repr(next(output_iterator)))
print(repr(next(output_iterator)))
print(repr(next(output_iterator)))
print(repr(''.join(input_iterator)))
# Verify that the target value can be a sequence.
seq = [[10, 20], [30, 40], 30, 40, [30, 40], 50]
target = [30, 40]
print(repr(list(iter_index(seq, target))))
# Verify faithfulness to type specific index() method behaviors.
# For example, bytes and str perform continuous-subsequence searches
# that do not match the general behavior specified
# in collections.abc.Sequence.index().
seq = 'abracadabra'
target = 'ab'
print(repr(list(iter_index(seq, target))))

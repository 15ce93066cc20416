from itertools import *

import collections
import functools
import math
import operator
import random

def tail(n, iterable):
    "Return an iterator over the last n items."
    # tail(3, 'ABCDEFG') → E F G
    return iter(collections.deque(iterable, maxlen=n))

print(repr(list(tail(3, 'ABCDEFG'))))
# Verify the input is consumed greedily
input_iterator = iter('ABCDEFG')
output_iterator = tail(3, input_iterator)
print(repr(list(input_iterator)))

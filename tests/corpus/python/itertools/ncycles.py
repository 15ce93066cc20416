from itertools import *

import collections
import functools
import math
import operator
import random

def ncycles(iterable, n):
    "Returns the sequence elements n times."
    return chain.from_iterable(repeat(tuple(iterable), n))

print(repr(list(ncycles('abc', 3))))
# Verify greedy consumption of input iterator
input_iterator = iter('abc')
output_iterator = ncycles(input_iterator, 3)
print(repr(list(input_iterator)))

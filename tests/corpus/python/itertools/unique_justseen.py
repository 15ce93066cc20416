from itertools import *

import collections
import functools
import math
import operator
import random

def unique_justseen(iterable, key=None):
    "List unique elements, preserving order. Remember only the element just seen."
    # unique_justseen('AAAABBBCCDAABBB') → A B C D A B
    # unique_justseen('ABBcCAD', str.casefold) → A B c A D
    if key is None:
        return map(operator.itemgetter(0), groupby(iterable))
    return map(next, map(operator.itemgetter(1), groupby(iterable, key)))

print(repr(list(unique_justseen('AAAABBBCCDAABBB'))))
print(repr(list(unique_justseen('ABBCcAD', str.casefold))))
print(repr(list(unique_justseen('ABBcCAD', str.casefold))))
# Verify that the input is consumed lazily
input_iterator = iter('AAAABBBCCDAABBB')
output_iterator = unique_justseen(input_iterator)
print(repr(next(output_iterator)))
print(repr(''.join(input_iterator)))

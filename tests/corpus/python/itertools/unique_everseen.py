from itertools import *

import collections
import functools
import math
import operator
import random

def unique_everseen(iterable, key=None):
    "List unique elements, preserving order. Remember all elements ever seen."
    # unique_everseen('AAAABBBCCDAABBB') → A B C D
    # unique_everseen('ABBcCAD', str.casefold) → A B c D
    seen = set()
    if key is None:
        for element in filterfalse(seen.__contains__, iterable):
            seen.add(element)
            yield element
    else:
        for element in iterable:
            k = key(element)
            if k not in seen:
                seen.add(k)
                yield element

print(repr(list(unique_everseen('AAAABBBCCDAABBB'))))
print(repr(list(unique_everseen('ABBCcAD', str.casefold))))
print(repr(list(unique_everseen('ABBcCAD', str.casefold))))
# Verify that the input is consumed lazily
input_iterator = iter('AAAABBBCCDAABBB')
output_iterator = unique_everseen(input_iterator)
print(repr(next(output_iterator)))
print(repr(''.join(input_iterator)))

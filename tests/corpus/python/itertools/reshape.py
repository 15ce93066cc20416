from itertools import *

import collections
import functools
import math
import operator
import random

def reshape(matrix, cols):
    "Reshape a 2-D matrix to have a given number of columns."
    # reshape([(0, 1), (2, 3), (4, 5)], 3) →  (0, 1, 2), (3, 4, 5)
    return batched(chain.from_iterable(matrix), cols, strict=True)

print(repr(list(reshape([(0, 1), (2, 3), (4, 5)], 3))))
M = [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11)]
print(repr(list(reshape(M, 1))))
print(repr(list(reshape(M, 2))))
print(repr(list(reshape(M, 3))))
print(repr(list(reshape(M, 4))))

print(repr(list(reshape(M, 6))))
print(repr(list(reshape(M, 12))))

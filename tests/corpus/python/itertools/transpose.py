from itertools import *

import collections
import functools
import math
import operator
import random

def transpose(matrix):
    "Swap the rows and columns of a 2-D matrix."
    # transpose([(1, 2, 3), (11, 22, 33)]) → (1, 11) (2, 22) (3, 33)
    return zip(*matrix, strict=True)

print(repr(list(transpose([(1, 2, 3), (11, 22, 33)]))))
# Verify that the inputs are consumed lazily
input1 = iter([1, 2, 3])
input2 = iter([11, 22, 33])
output_iterator = transpose([input1, input2])
print(repr(next(output_iterator)))
print(repr(list(zip(input1, input2))))

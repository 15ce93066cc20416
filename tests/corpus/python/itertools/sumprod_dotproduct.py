from itertools import *

import collections
import functools
import math
import operator
import random

def sumprod(vec1, vec2):
    "Compute a sum of products."
    return sum(starmap(operator.mul, zip(vec1, vec2, strict=True)))

def dotproduct(vec1, vec2):
    return sum(map(operator.mul, vec1, vec2))

print(repr(dotproduct([1,2,3], [4,5,6])))
print(repr(sumprod([1,2,3], [4,5,6])))

from itertools import *

import collections
import functools
import math
import operator
import random

def sum_of_squares(iterable):
    "Add up the squares of the input values."
    # sum_of_squares([10, 20, 30]) → 1400
    return math.sumprod(*tee(iterable))

print(repr(sum_of_squares([10, 20, 30])))

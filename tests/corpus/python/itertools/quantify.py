from itertools import *

import collections
import functools
import math
import operator
import random

def quantify(iterable, predicate=bool):
    "Given a predicate that returns True or False, count the True results."
    return sum(map(predicate, iterable))

print(repr(quantify(range(99), lambda x: x%2==0)))
print(repr(quantify([True, False, False, True, True])))
print(repr(quantify(range(12), predicate=lambda x: x%2==1)))

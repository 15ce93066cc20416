from itertools import *

import collections
import functools
import math
import operator
import random

def tabulate(function, start=0):
    "Return function(0), function(1), ..."
    return map(function, count(start))

print(repr(list(islice(tabulate(lambda x: 2*x), 4))))

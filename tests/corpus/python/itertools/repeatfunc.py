from itertools import *

import collections
import functools
import math
import operator
import random

def take(n, iterable):
    "Return first n items of the iterable as a list."
    return list(islice(iterable, n))

def repeatfunc(func, times=None, *args):
    """Repeat calls to func with specified arguments.

    Example:  repeatfunc(random.random)
    """
    if times is None:
        return starmap(func, repeat(args))
    return starmap(func, repeat(args, times))

print(repr(list(repeatfunc(pow, 5, 2, 3))))
print(repr(take(5, map(int, repeatfunc(random.random)))))

random.seed(85753098575309)
print(repr(list(repeatfunc(random.random, 3))))
print(repr(list(repeatfunc(chr, 3, 65))))
print(repr(list(repeatfunc(pow, 3, 2, 5))))

from itertools import *

import collections
import functools
import math
import operator
import random

def pad_none(iterable):
    """Returns the sequence elements and then returns None indefinitely.

    Useful for emulating the behavior of the built-in map() function.
    """
    return chain(iterable, repeat(None))

print(repr(list(islice(pad_none('abc'), 0, 6))))

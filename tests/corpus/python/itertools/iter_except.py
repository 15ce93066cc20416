from itertools import *

import collections
import functools
import math
import operator
import random

def iter_except(func, exception, first=None):
    """ Call a function repeatedly until an exception is raised.

    Converts a call-until-exception interface to an iterator interface.
    """
    # iter_except(d.popitem, KeyError) → non-blocking dictionary iterator
    try:
        if first is not None:
            yield first()
        while True:
            yield func()
    except exception:
        pass

d = dict(a=1, b=2, c=3)
it = iter_except(d.popitem, KeyError)
d['d'] = 4
print(repr(next(it)))
print(repr(next(it)))
print(repr(next(it)))
d['e'] = 5
print(repr(next(it)))
print(repr(next(it)))
print(repr(next(it, 'empty')))

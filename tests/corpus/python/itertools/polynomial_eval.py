from itertools import *

import collections
import functools
import math
import operator
import random

def polynomial_eval(coefficients, x):
    """Evaluate a polynomial at a specific value.

    Computes with better numeric stability than Horner's method.
    """
    # Evaluate x³ -4x² -17x + 60 at x = 5
    # polynomial_eval([1, -4, -17, 60], x=5) → 0
    n = len(coefficients)
    if not n:
        return type(x)(0)
    powers = map(pow, repeat(x), reversed(range(n)))
    return math.sumprod(coefficients, powers)

from fractions import Fraction
from decimal import Decimal
print(repr(polynomial_eval([1, -4, -17, 60], x=5)))
x = 5; print(repr(x**3 - 4*x**2 -17*x + 60))
print(repr(polynomial_eval([1, -4, -17, 60], x=2.5)))
x = 2.5; print(repr(x**3 - 4*x**2 -17*x + 60))
print(repr(polynomial_eval([1, -4, -17, 60], x=Fraction(2, 3))))
x = Fraction(2, 3); print(repr(x**3 - 4*x**2 -17*x + 60))
print(repr(polynomial_eval([1, -4, -17, 60], x=Decimal('1.75'))))
x = Decimal('1.75'); print(repr(x**3 - 4*x**2 -17*x + 60))
print(repr(polynomial_eval([], 2)))
print(repr(polynomial_eval([], 2.5)))
print(repr(polynomial_eval([], Fraction(2, 3))))
print(repr(polynomial_eval([], Decimal('1.75'))))
print(repr(polynomial_eval([11], 7) == 11))
print(repr(polynomial_eval([11, 2], 7) == 11 * 7 + 2))

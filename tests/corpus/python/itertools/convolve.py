from itertools import *

import collections
import functools
import math
import operator
import random

def sliding_window(iterable, n):
    "Collect data into overlapping fixed-length chunks or blocks."
    # sliding_window('ABCDEFG', 4) → ABCD BCDE CDEF DEFG
    it = iter(iterable)
    window = collections.deque(islice(it, n-1), maxlen=n)
    for x in it:
        window.append(x)
        yield tuple(window)

def convolve(signal, kernel):
    """Discrete linear convolution of two iterables.
    Equivalent to polynomial multiplication.

    Convolutions are mathematically commutative; however, the inputs are
    evaluated differently.  The signal is consumed lazily and can be
    infinite. The kernel is fully consumed before the calculations begin.

    Article:  https://betterexplained.com/articles/intuitive-convolution/
    Video:    https://www.youtube.com/watch?v=KuXjwB4LzSA
    """
    # convolve([1, -1, -20], [1, -3]) → 1 -4 -17 60
    # convolve(data, [0.25, 0.25, 0.25, 0.25]) → Moving average (blur)
    # convolve(data, [1/2, 0, -1/2]) → 1st derivative estimate
    # convolve(data, [1, -2, 1]) → 2nd derivative estimate
    kernel = tuple(kernel)[::-1]
    n = len(kernel)
    padded_signal = chain(repeat(0, n-1), signal, repeat(0, n-1))
    windowed_signal = sliding_window(padded_signal, n)
    return map(math.sumprod, repeat(kernel), windowed_signal)

print(repr(list(convolve([1, -1, -20], [1, -3])) == [1, -4, -17, 60]))
data = [20, 40, 24, 32, 20, 28, 16]
print(repr(list(convolve(data, [0.25, 0.25, 0.25, 0.25]))))
print(repr(list(convolve(data, [1, -1]))))
print(repr(list(convolve(data, [1, -2, 1]))))
# Verify signal is consumed lazily and the kernel greedily
signal_iterator = iter([10, 20, 30, 40, 50])
kernel_iterator = iter([1, 2, 3])
output_iterator = convolve(signal_iterator, kernel_iterator)
print(repr(list(kernel_iterator)))
print(repr(next(output_iterator)))
print(repr(next(output_iterator)))
print(repr(list(signal_iterator)))

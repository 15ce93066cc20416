from itertools import *

import collections
import functools
import math
import operator
import random

def iter_index(iterable, value, start=0, stop=None):
    "Return indices where a value occurs in a sequence or iterable."
    # iter_index('AABCADEAF', 'A') → 0 1 4 7
    seq_index = getattr(iterable, 'index', None)
    if seq_index is None:
        # Path for general iterables
        it = islice(iterable, start, stop)
        for i, element in enumerate(it, start):
            if element is value or element == value:
                yield i
    else:
        # Path for sequences with an index() method
        stop = len(iterable) if stop is None else stop
        i = start
        try:
            while True:
                yield (i := seq_index(value, i, stop))
                i += 1
        except ValueError:
            pass

def sieve(n):
    "Primes less than n."
    # sieve(30) → 2 3 5 7 11 13 17 19 23 29
    if n > 2:
        yield 2
    start = 3
    data = bytearray((0, 1)) * (n // 2)
    limit = math.isqrt(n) + 1
    for p in iter_index(data, 1, start, limit):
        yield from iter_index(data, 1, start, p*p)
        data[p*p : n : p+p] = bytes(len(range(p*p, n, p+p)))
        start = p*p
    yield from iter_index(data, 1, start)

def factor(n):
    "Prime factors of n."
    # factor(99) → 3 3 11
    # factor(1_000_000_000_000_007) → 47 59 360620266859
    # factor(1_000_000_000_000_403) → 1000000000000403
    for prime in sieve(math.isqrt(n) + 1):
        while not n % prime:
            yield prime
            n //= prime
            if n == 1:
                return
    if n > 1:
        yield n

print(repr(list(factor(99))))                    # Code example 1

print(repr(list(factor(0))))
print(repr(list(factor(1))))
print(repr(list(factor(2))))
print(repr(list(factor(3))))
print(repr(list(factor(4))))
print(repr(list(factor(5))))
print(repr(list(factor(6))))
print(repr(list(factor(7))))
print(repr(list(factor(8))))
print(repr(list(factor(9))))
print(repr(list(factor(10))))
print(repr(list(factor(128_884_753_939))))       # large prime
print(repr(list(factor(999953 * 999983))))       # large semiprime
print(repr(list(factor(6 ** 20)) == [2] * 20 + [3] * 20))   # large power
print(repr(list(factor(909_909_090_909))))       # large multiterm composite
print(repr(math.prod([3, 3, 7, 13, 13, 751, 113797])))
print(repr(all(math.prod(factor(n)) == n for n in range(1, 2_000))))
print(repr(all(set(factor(n)) <= set(sieve(n+1)) for n in range(2_000))))
print(repr(all(list(factor(n)) == sorted(factor(n)) for n in range(2_000))))

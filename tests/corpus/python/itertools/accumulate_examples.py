from itertools import *

import operator

data = [3, 4, 6, 2, 1, 9, 0, 7, 5, 8]
print(repr(list(accumulate(data, operator.mul))))     # running product
print(repr(list(accumulate(data, max))))              # running maximum
# Amortize a 5% loan of 1000 with 10 annual payments of 90
account_update = lambda bal, pmt: round(bal * 1.05) + pmt
print(repr(list(accumulate(repeat(-90, 10), account_update, initial=1_000))))

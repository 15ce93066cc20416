from collections import *

Account = namedtuple('Account', ['type', 'balance'], defaults=[0])
print(repr(Account._field_defaults))
print(repr(Account('premium')))

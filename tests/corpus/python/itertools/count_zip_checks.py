from itertools import *

amounts = [120.15, 764.05, 823.14]
for checknum, amount in zip(count(1200), amounts):
    print('Check %d is for $%.2f' % (checknum, amount))

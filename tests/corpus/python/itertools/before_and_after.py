from itertools import *

import collections
import functools
import math
import operator
import random

def before_and_after(predicate, it):
   """ Variant of takewhile() that allows complete
       access to the remainder of the iterator.

       >>> it = iter('ABCdEfGhI')
       >>> all_upper, remainder = before_and_after(str.isupper, it)
       >>> ''.join(all_upper)
       'ABC'
       >>> ''.join(remainder)     # takewhile() would lose the 'd'
       'dEfGhI'

       Note that the true iterator must be fully consumed
       before the remainder iterator can generate valid results.
   """
   it = iter(it)
   transition = []

   def true_iterator():
       for elem in it:
           if predicate(elem):
               yield elem
           else:
               transition.append(elem)
               return

   return true_iterator(), chain(transition, it)

it = iter('ABCdEfGhI')
all_upper, remainder = before_and_after(str.isupper, it)
print(repr(''.join(all_upper)))
print(repr(''.join(remainder)))

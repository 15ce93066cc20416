from collections import *

d = OrderedDict.fromkeys('abcde')
d.move_to_end('b')
print(repr(''.join(d)))
d.move_to_end('b', last=False)
print(repr(''.join(d)))

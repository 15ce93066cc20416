from collections import *

print(repr(Counter('abracadabra').most_common(3)))

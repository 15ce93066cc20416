from itertools import *

flattened_data = ['roses', 'red', 'violets', 'blue', 'sugar', 'sweet']
unflattened = list(batched(flattened_data, 2))
print(repr(unflattened))
for batch in batched('ABCDEFG', 3):
    print(batch)

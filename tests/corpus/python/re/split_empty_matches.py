import re

print(repr(re.split(r'\b', 'Words, words, words.')))
print(repr(re.split(r'\W*', '...words...')))
print(repr(re.split(r'(\W*)', '...words...')))

import re

print(repr(re.split(r'\W+', 'Words, words, words.')))
print(repr(re.split(r'(\W+)', 'Words, words, words.')))
print(repr(re.split(r'\W+', 'Words, words, words.', maxsplit=1)))
print(repr(re.split('[a-f]+', '0a3B9', flags=re.IGNORECASE)))

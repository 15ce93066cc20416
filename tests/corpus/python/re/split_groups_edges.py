import re

print(repr(re.split(r'(\W+)', '...words, words...')))

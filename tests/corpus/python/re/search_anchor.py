import re

re.match("c", "abcdef")    # No match
re.search("^c", "abcdef")  # No match
print(repr(re.search("^a", "abcdef")))  # Match

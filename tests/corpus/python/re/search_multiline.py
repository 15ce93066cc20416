import re

re.match("X", "A\nB\nX", re.MULTILINE)  # No match
print(repr(re.search("^X", "A\nB\nX", re.MULTILINE)))  # Match

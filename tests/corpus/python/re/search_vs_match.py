import re

re.match("c", "abcdef")    # No match
print(repr(re.search("c", "abcdef")))   # Match
print(repr(re.fullmatch("p.*n", "python"))) # Match
re.fullmatch("r.*n", "python") # No match

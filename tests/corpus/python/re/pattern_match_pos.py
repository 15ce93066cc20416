import re

pattern = re.compile("o")
pattern.match("dog")      # No match as "o" is not at the start of "dog".
print(repr(pattern.match("dog", 1)))   # Match as "o" is the 2nd character of "dog".

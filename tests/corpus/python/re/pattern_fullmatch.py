import re

pattern = re.compile("o[gh]")
pattern.fullmatch("dog")      # No match as "o" is not at the start of "dog".
pattern.fullmatch("ogre")     # No match as not the full string matches.
print(repr(pattern.fullmatch("doggie", 1, 3)))   # Matches within given limits.

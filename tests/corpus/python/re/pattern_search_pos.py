import re

pattern = re.compile("d")
print(repr(pattern.search("dog")))     # Match at index 0
pattern.search("dog", 1)  # No match; search doesn't include the "d"

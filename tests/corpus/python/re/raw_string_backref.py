import re

print(repr(re.match(r"\W(.)\1\W", " ff ")))
print(repr(re.match("\\W(.)\\1\\W", " ff ")))

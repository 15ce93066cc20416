import re

print(repr(re.match(r"\\", r"\\")))
print(repr(re.match("\\\\", r"\\")))

import re

text = "He was carefully disguised but captured quickly by police."
print(repr(re.findall(r"\w+ly\b", text)))

import re

m = re.match(r"(\d+)\.?(\d+)?", "24")
print(repr(m.groups()))      # Second group defaults to None.
print(repr(m.groups('0')))   # Now, the second group defaults to '0'.

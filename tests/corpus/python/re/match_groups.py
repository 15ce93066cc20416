import re

m = re.match(r"(\d+)\.(\d+)", "24.1632")
print(repr(m.groups()))

import re

print(re.escape('https://www.python.org'))

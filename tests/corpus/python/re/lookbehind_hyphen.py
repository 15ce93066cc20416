import re

m = re.search(r'(?<=-)\w+', 'spam-egg')
print(repr(m.group(0)))

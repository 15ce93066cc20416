import re

m = re.match(r"(?P<first_name>\w+) (?P<last_name>\w+)", "Malcolm Reynolds")
print(repr(m.group('first_name')))
print(repr(m.group('last_name')))

print(repr(m.group(1)))
print(repr(m.group(2)))

import re

m = re.match(r"(?P<first_name>\w+) (?P<last_name>\w+)", "Isaac Newton")
print(repr(m['first_name']))
print(repr(m['last_name']))

import re

m = re.match(r"(\w+) (\w+)", "Isaac Newton, physicist")
print(repr(m.group(0)))       # The entire match
print(repr(m.group(1)))       # The first parenthesized subgroup.
print(repr(m.group(2)))       # The second parenthesized subgroup.
print(repr(m.group(1, 2)))    # Multiple arguments give us a tuple.

import re

m = re.match(r"(\w+) (\w+)", "Isaac Newton, physicist")
print(repr(m[0]))       # The entire match
print(repr(m[1]))       # The first parenthesized subgroup.
print(repr(m[2]))       # The second parenthesized subgroup.

import re

m = re.match(r"(..)+", "a1b2c3")  # Matches 3 times.
print(repr(m.group(1)))                        # Returns only the last match.

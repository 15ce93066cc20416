import re

print(repr(re.findall(r'\bf[a-z]*', 'which foot or hand fell fastest')))
print(repr(re.findall(r'(\w+)=(\d+)', 'set width=20 and height=10')))

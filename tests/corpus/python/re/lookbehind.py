import re
m = re.search('(?<=abc)def', 'abcdef')
print(repr(m.group(0)))

import re

def dashrepl(matchobj):
    if matchobj.group(0) == '-': return ' '
    else: return '-'
print(repr(re.sub('-{1,2}', dashrepl, 'pro----gram-files')))
print(repr(re.sub(r'\sAND\s', ' & ', 'Baked Beans And Spam', flags=re.IGNORECASE)))

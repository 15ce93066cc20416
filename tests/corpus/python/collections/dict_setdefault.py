s = [('yellow', 1), ('blue', 2), ('yellow', 3), ('blue', 4), ('red', 1)]

d = {}
for k, v in s:
    d.setdefault(k, []).append(v)
print(repr(sorted(d.items())))

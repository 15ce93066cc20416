from datetime import date
d = date(2002, 12, 31)
print(repr(d.replace(day=26)))

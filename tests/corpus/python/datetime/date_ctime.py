from datetime import date
print(repr(date(2002, 12, 4).ctime()))

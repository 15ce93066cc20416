from datetime import datetime, date, time, timezone
# Using datetime.combine()
d = date(2005, 7, 14)
t = time(12, 30)
print(repr(datetime.combine(d, t)))

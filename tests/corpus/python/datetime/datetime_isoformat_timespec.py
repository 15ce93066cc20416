from datetime import datetime

dt = datetime(2015, 1, 1, 12, 30, 59, 0)
print(repr(dt.isoformat(timespec='microseconds')))

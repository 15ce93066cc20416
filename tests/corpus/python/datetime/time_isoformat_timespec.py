from datetime import time
print(repr(time(hour=12, minute=34, second=56, microsecond=123456).isoformat(timespec='minutes')))
dt = time(hour=12, minute=34, second=56, microsecond=0)
print(repr(dt.isoformat(timespec='microseconds')))
print(repr(dt.isoformat(timespec='auto')))

from datetime import datetime, timezone
print(repr(datetime(2019, 5, 18, 15, 17, 8, 132263).isoformat()))
print(repr(datetime(2019, 5, 18, 15, 17, tzinfo=timezone.utc).isoformat()))

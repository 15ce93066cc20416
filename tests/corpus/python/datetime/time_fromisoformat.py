from datetime import time
print(repr(time.fromisoformat('04:23:01')))
print(repr(time.fromisoformat('T04:23:01')))
print(repr(time.fromisoformat('T042301')))
print(repr(time.fromisoformat('04:23:01.000384')))
print(repr(time.fromisoformat('04:23:01,000384')))
print(repr(time.fromisoformat('04:23:01+04:00')))
print(repr(time.fromisoformat('04:23:01Z')))
print(repr(time.fromisoformat('04:23:01+00:00')))

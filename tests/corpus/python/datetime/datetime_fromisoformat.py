from datetime import datetime
print(repr(datetime.fromisoformat('2011-11-04')))
print(repr(datetime.fromisoformat('20111104')))
print(repr(datetime.fromisoformat('2011-11-04T00:05:23')))
print(repr(datetime.fromisoformat('2011-11-04T00:05:23Z')))
print(repr(datetime.fromisoformat('20111104T000523')))
print(repr(datetime.fromisoformat('2011-W01-2T00:05:23.283')))
print(repr(datetime.fromisoformat('2011-11-04 00:05:23.283')))
print(repr(datetime.fromisoformat('2011-11-04 00:05:23.283+00:00')))
print(repr(datetime.fromisoformat('2011-11-04T00:05:23+04:00')))   # doctest: +NORMALIZE_WHITESPACE

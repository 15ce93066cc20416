from datetime import timedelta
d = timedelta(microseconds=-1)
print(repr(((d.days, d.seconds, d.microseconds))))

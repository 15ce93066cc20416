from datetime import tzinfo, timedelta, datetime
class TZ(tzinfo):
    """A time zone with an arbitrary, constant -06:39 offset."""
    def utcoffset(self, dt):
        return timedelta(hours=-6, minutes=-39)
print(repr(datetime(2002, 12, 25, tzinfo=TZ()).isoformat(' ')))
print(repr(datetime(2009, 11, 27, microsecond=100, tzinfo=TZ()).isoformat()))

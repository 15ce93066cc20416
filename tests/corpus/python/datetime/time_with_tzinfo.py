from datetime import time, tzinfo, timedelta
class TZ1(tzinfo):
    def utcoffset(self, dt):
        return timedelta(hours=1)
    def dst(self, dt):
        return timedelta(0)
    def tzname(self,dt):
        return "+01:00"
    def  __repr__(self):
        return f"{self.__class__.__name__}()"
t = time(12, 10, 30, tzinfo=TZ1())
print(repr(t))
print(repr(t.isoformat()))
print(repr(t.dst()))
print(repr(t.tzname()))
print(repr(t.strftime("%H:%M:%S %Z")))
print(repr('The {} is {:%H:%M}.'.format("time", t)))

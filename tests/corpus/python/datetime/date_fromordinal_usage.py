from datetime import date
d = date.fromordinal(730920) # 730920th day after 1. 1. 0001
print(repr(d))
# Methods related to formatting string output
print(repr(d.isoformat()))
print(repr(d.strftime("%d/%m/%y")))
print(repr(d.strftime("%A %d. %B %Y")))
print(repr(d.ctime()))
print(repr('The {1} is {0:%d}, the {2} is {0:%B}.'.format(d, "day", "month")))
# Methods for to extracting 'components' under different calendars
t = d.timetuple()
for i in t:     # doctest: +SKIP
    print(i)
ic = d.isocalendar()
for i in ic:    # doctest: +SKIP
    print(i)
# A date object is immutable; all operations produce a new object
print(repr(d.replace(year=2005)))

from datetime import datetime, date, time, timezone

# Using datetime.strptime()
dt = datetime.strptime("21/11/06 16:30", "%d/%m/%y %H:%M")
print(repr(dt))
# Using datetime.timetuple() to get tuple of all attributes
tt = dt.timetuple()
for it in tt:   # doctest: +SKIP
    print(it)
# Date in ISO format
ic = dt.isocalendar()
for it in ic:   # doctest: +SKIP
    print(it)
# Formatting a datetime
print(repr(dt.strftime("%A, %d. %B %Y %I:%M%p")))
print(repr('The {1} is {0:%d}, the {2} is {0:%B}, the {3} is {0:%I:%M%p}.'.format(dt, "day", "month", "time")))

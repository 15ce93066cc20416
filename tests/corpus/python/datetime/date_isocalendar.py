from datetime import date
print(repr(date(2003, 12, 29).isocalendar()))
print(repr(date(2004, 1, 4).isocalendar()))

from datetime import date
print(repr(date.fromisoformat('2019-12-04')))
print(repr(date.fromisoformat('20191204')))
print(repr(date.fromisoformat('2021-W01-1')))

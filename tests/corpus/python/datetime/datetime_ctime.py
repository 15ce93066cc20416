from datetime import datetime
print(repr(datetime(2002, 12, 4, 20, 30, 40).ctime()))

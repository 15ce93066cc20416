from itertools import *

reportlines = ['EuroPython', 'Roster', '', 'alex', '', 'laura', '', 'martin', '', 'walter', '', 'samuele']
for name in islice(reportlines, 3, None, 2):
   print(name.title())

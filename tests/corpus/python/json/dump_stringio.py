import json

from io import StringIO
io = StringIO()
json.dump(['streaming API'], io)
print(repr(io.getvalue()))

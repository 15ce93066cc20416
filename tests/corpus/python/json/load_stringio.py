import json

from io import StringIO
io = StringIO('["streaming API"]')
print(repr(json.load(io)))

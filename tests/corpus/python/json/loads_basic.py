import json
print(repr(json.loads('["foo", {"bar":["baz", null, 1.0, 2]}]')))

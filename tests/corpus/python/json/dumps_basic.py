import json
print(repr(json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])))

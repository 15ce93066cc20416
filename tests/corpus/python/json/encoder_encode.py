import json

print(repr(json.JSONEncoder().encode({"foo": ["bar", "baz"]})))

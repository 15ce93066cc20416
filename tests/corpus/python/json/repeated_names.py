import json

weird_json = '{"x": 1, "x": 2, "x": 3}'
print(repr(json.loads(weird_json)))

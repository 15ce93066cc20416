import json

print(json.dumps({"c": 0, "b": 0, "a": 0}, sort_keys=True))

import json

print(repr(json.loads('"\\"foo\\bar"')))

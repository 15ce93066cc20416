import json

# Neither of these calls raises an exception, but the results are not valid JSON
print(repr(json.dumps(float('-inf'))))
print(repr(json.dumps(float('nan'))))
# Same when deserializing
print(repr(json.loads('-Infinity')))
print(repr(json.loads('NaN')))

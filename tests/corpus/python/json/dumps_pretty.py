import json
print(json.dumps({'6': 7, '4': 5}, sort_keys=True, indent=4))

import json

import decimal
print(repr(json.loads('1.1', parse_float=decimal.Decimal)))

import json
class ComplexEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, complex):
            return [obj.real, obj.imag]
        # Let the base class default method raise the TypeError
        return super().default(obj)
print(repr(json.dumps(2 + 1j, cls=ComplexEncoder)))
print(repr(ComplexEncoder().encode(2 + 1j)))
print(repr(list(ComplexEncoder().iterencode(2 + 1j))))

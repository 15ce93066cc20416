from collections import *

class MultiHitLRUCache:
    """ LRU cache that defers caching a result until
        it has been requested multiple times.

        To avoid flushing the LRU cache with one-time requests,
        we don't cache until a request has been made more than once.

    """

    def __init__(self, func, maxsize=128, maxrequests=4096, cache_after=1):
        self.requests = OrderedDict()   # { uncached_key : request_count }
        self.cache = OrderedDict()      # { cached_key : function_result }
        self.func = func
        self.maxrequests = maxrequests  # max number of uncached requests
        self.maxsize = maxsize          # max number of stored return values
        self.cache_after = cache_after

    def __call__(self, *args):
        if args in self.cache:
            self.cache.move_to_end(args)
            return self.cache[args]
        result = self.func(*args)
        self.requests[args] = self.requests.get(args, 0) + 1
        if self.requests[args] <= self.cache_after:
            self.requests.move_to_end(args)
            if len(self.requests) > self.maxrequests:
                self.requests.popitem(last=False)
        else:
            self.requests.pop(args, None)
            self.cache[args] = result
            if len(self.cache) > self.maxsize:
                self.cache.popitem(last=False)
        return result

def square(x):
    return x * x
f = MultiHitLRUCache(square, maxsize=4, maxrequests=6)
print(repr(list(map(f, range(10)))))  # First requests, don't cache
print(repr(f(4)))  # Cache the second request
print(repr(f(6)))  # Cache the second request
print(repr(f(2)))  # The first request aged out, so don't cache
print(repr(f(6)))  # Cache hit
print(repr(f(4)))  # Cache hit and move to front
print(repr(list(f.cache.values())))
print(repr(set(f.requests).isdisjoint(f.cache)))
print(repr(list(map(f, [9, 8, 7]))))   # Cache these second requests
print(repr(list(map(f, [7, 9]))))  # Cache hits
print(repr(list(f.cache.values())))
print(repr(set(f.requests).isdisjoint(f.cache)))

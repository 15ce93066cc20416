from collections import deque
d = deque('ghi')                 # make a new deque with three items
for elem in d:                   # iterate over the deque's elements
    print(elem.upper())
d.append('j')                    # add a new entry to the right side
d.appendleft('f')                # add a new entry to the left side
print(repr(d))                                # show the representation of the deque
print(repr(d.pop()))                          # return and remove the rightmost item
print(repr(d.popleft()))                      # return and remove the leftmost item
print(repr(list(d)))                          # list the contents of the deque
print(repr(d[0]))                             # peek at leftmost item
print(repr(d[-1]))                            # peek at rightmost item
print(repr(list(reversed(d))))                # list the contents of a deque in reverse
print(repr('h' in d))                         # search the deque
d.extend('jkl')                  # add multiple elements at once
print(repr(d))
d.rotate(1)                      # right rotation
print(repr(d))
d.rotate(-1)                     # left rotation
print(repr(d))
print(repr(deque(reversed(d))))               # make a new deque in reverse order
d.clear()                        # empty the deque

import re

email = "tony@tiremove_thisger.net"
m = re.search("remove_this", email)
print(repr(email[:m.start()] + email[m.end():]))

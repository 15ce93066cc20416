from datetime import timedelta
year = timedelta(days=365)
ten_years = 10 * year
print(repr(ten_years))
print(repr(ten_years.days // 365))
nine_years = ten_years - year
print(repr(nine_years))
three_years = nine_years // 3
print(repr((three_years, three_years.days // 365)))

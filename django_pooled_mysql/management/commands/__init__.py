"""manage.py pool_budget."""

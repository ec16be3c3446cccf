"""Feature blueprints, one package each: `bp` in __init__.py, routes in views.py."""

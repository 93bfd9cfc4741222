"""The demo Django project: one app, a database mode chosen by environment variables."""

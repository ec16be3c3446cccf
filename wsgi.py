"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

from gallery import create_app

app = create_app()

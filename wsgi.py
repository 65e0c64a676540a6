"""Entry point for gunicorn and the flask CLI: `flask --app wsgi ...`."""
from web import create_app

app = create_app()

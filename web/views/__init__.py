"""Blueprints of the server-rendered pages, one per kind of user work."""

"""Delivery after commit: the outbox relay, RQ jobs for notices and audit sealing, reminders. It reads the outbox
and the models and never changes an application's state."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Hook the relay to commits and register the worker CLI (filled in by the notifications work)."""

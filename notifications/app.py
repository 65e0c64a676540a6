"""The worker's own app: configuration, database and translations (workflow.appbase) plus the notification
jobs and commands; no pages, no API. `flask --app notifications.app worker` runs an RQ worker on it."""
from __future__ import annotations

from flask import Flask

from workflow.appbase import create_base_app


def create_app(overrides: dict | None = None) -> Flask:
    from workflow import cli as workflow_cli

    from . import init_app

    app = create_base_app("notifications", overrides)
    workflow_cli.register(app)  # the audit commands (verify, seal, head) work from a worker host too
    init_app(app)
    return app

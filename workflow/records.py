"""Recognition records others can trust (issue 12, section 5): recognitions exported as signed JSON in the open
schema docs/records-schema.json, per province and year or per citizen (Nghị định 88/2026/NĐ-CP keys a citizen's
lifelong-learning record by the personal ID: /work/shared/domain/README.md §9).

A record is one file in state 'recognised' or 'revoked': title, level (XHT), year, the subject (a person by CCCD and
name; a commune by code and name), the unit and province, the day of recognition, the last day it is in force
(titles.json "validity"), the decision if any, and whether and when it was revoked. Never the reason of a
revocation, the date of birth, scores or evidence: a receiving system needs to know what was awarded to whom and
whether it still stands, and the CCCD already identifies the person (docs/records.md, "What a record holds").

The document is signed with the instance's Ed25519 key (workflow/recordskey.py): the signature is over the
SHA-512 digest of the document's canonical serialization without its "signature" member (keys sorted, UTF-8, no
insignificant spaces; for this document, which holds only strings, integers, booleans and null under ASCII keys,
that is exactly RFC 8785 JCS). Signing the digest lets a province-year of a million records be written as a stream
(server-side cursor, `yield_per`), never held in memory; the file written is itself the canonical form, with the
"signature" member last because it sorts last."""
from __future__ import annotations

import base64
import codecs
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from . import clock
from .authz import Actor, actor_of
from .db import db
from .errors import MESSAGES, NotAuthorized, NotFound
from .inputs import canonical_citizen_id
from .models import Application, Campaign, Decision, Unit
from .recordskey import ALGORITHM, PublicKey
from .validity import titles, valid_until, validity_years

FORMAT = "hoctap-records/1"
RECORD_STATES = ("recognised", "revoked")
# Who may take records out through the API: the province's auditors, admins and provincial approvers, by a grant on
# the province itself (a province-year document is always the whole province's; docs/records.md, "Who may read").
RECORD_ROLES = ("auditor", "admin", "provincial_approver")
YIELD_PER = 2000
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                           "records-schema.json")

MESSAGES.update({
    "records_forbidden": ("Chỉ kiểm toán viên, quản trị viên và cán bộ phê duyệt cấp tỉnh (được giao quyền tại tỉnh) "
                          "mới được xuất hồ sơ công nhận.",
                          "Only auditors, administrators and provincial approvers with a grant on the province may "
                          "export recognition records."),
    "records_no_recognition": ("Không có công nhận nào của số CCCD này trong các tỉnh của bạn.",
                               "No recognition for this citizen ID in your provinces."),
})


# ---------------------------------------------------------------- what a record holds

def vn_date(value: datetime) -> date:
    """The Vietnam calendar day of a stored instant (SQLite gives naive UTC back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(clock.VN).date()


def _base() -> Select:
    province = aliased(Unit, name="province")
    return (select(Application.id, Application.state, Application.full_name, Application.citizen_id,
                   Application.target_level, Application.recognised_at, Application.state_changed_at,
                   Campaign.title_code, Campaign.year, Unit.code.label("unit_code"), Unit.name.label("unit_name"),
                   province.id.label("province_id"), province.code.label("province_code"),
                   province.name.label("province_name"), Decision.number.label("decision_number"),
                   Decision.signed_on.label("decision_signed_on"), Decision.signer.label("decision_signer"))
            .select_from(Application)
            .join(Campaign, Campaign.id == Application.campaign_id)
            .join(Unit, Unit.id == Application.unit_id)
            .join(province, province.id == Campaign.province_id)
            .outerjoin(Decision, Decision.id == Application.decision_id)
            .where(Application.state.in_(RECORD_STATES)))


def province_year_query(province_id: int, year: int) -> Select:
    """Every recognition of the province's campaigns of that year (each title), in id order. Read through
    ix_applications_campaign_state (campaign_id, state) per campaign."""
    return (_base().where(Campaign.province_id == province_id, Campaign.year == year)
            .order_by(Application.id))


def citizen_query(citizen_id: str, province_ids: Sequence[int] | None = None) -> Select:
    """One CCCD's recognitions (ix_applications_citizen_id), optionally only in those provinces' campaigns."""
    stmt = _base().where(Application.citizen_id == citizen_id)
    if province_ids is not None:
        stmt = stmt.where(Campaign.province_id.in_(list(province_ids)))
    return stmt.order_by(Campaign.year, Application.id)


def record_of(row: Any) -> dict[str, Any]:
    """The record of one row of `_base()` (docs/records-schema.json, "records" items)."""
    title = titles()[row.title_code]
    recognised_on = vn_date(row.recognised_at)
    years = validity_years(row.title_code)
    person = title["subject_kind"] == "person"
    subject = ({"kind": "person", "citizen_id": row.citizen_id, "full_name": row.full_name} if person
               else {"kind": "commune", "code": row.unit_code, "name": row.unit_name})
    revoked = row.state == "revoked"
    return {
        "application_id": row.id,
        "title": {"code": row.title_code, "name": title["name_vi"]},
        "level": None if person else row.target_level,
        "year": row.year,
        "subject": subject,
        "unit": {"code": row.unit_code, "name": row.unit_name},
        "province": {"code": row.province_code, "name": row.province_name},
        "recognised_on": recognised_on.isoformat(),
        "valid_until": valid_until(row.title_code, recognised_on).isoformat(),
        "validity": {"years": years, "confirmed": (title.get("validity") or {}).get("status") == "C"},
        "revoked": revoked,
        "revoked_on": vn_date(row.state_changed_at).isoformat() if revoked else None,
        "decision": ({"number": row.decision_number, "signed_on": row.decision_signed_on.isoformat(),
                      "signer": row.decision_signer} if row.decision_number is not None else None),
    }


def stream_rows(stmt: Select) -> Iterator[Any]:
    """The rows of `stmt` a batch at a time: on PostgreSQL a server-side cursor (yield_per implies stream_results),
    so a province-year of a million rows never sits in memory at once."""
    yield from db.session.execute(stmt.execution_options(yield_per=YIELD_PER))


# ---------------------------------------------------------------- who may read (the API)

def _actor(actor: Any) -> Actor:
    return actor if isinstance(actor, Actor) else actor_of(actor)


def record_provinces(actor: Any) -> list[int]:
    """The provinces on which the actor holds a records role by a grant on the province itself."""
    return sorted({g.unit_id for g in _actor(actor).grants if g.role in RECORD_ROLES and g.unit_level == "province"})


def authorize_province(actor: Any, province_id: int | None) -> Unit:
    """The province a caller exports (403 records_forbidden without a records grant on any province, before
    anything else is read; 404 unit_not_found for a province outside the caller's; a caller of one province may
    leave it out)."""
    mine = record_provinces(actor)
    if not mine:
        raise NotAuthorized("records_forbidden")
    if province_id is None and len(mine) == 1:
        province_id = mine[0]
    if province_id not in mine:
        raise NotFound("unit_not_found")
    return db.session.get(Unit, province_id)  # type: ignore[return-value]


def authorize_citizen(actor: Any, raw_citizen_id: str | None) -> tuple[str, list[int]]:
    """(canonical CCCD, the caller's record provinces); 403 first, then 422 for a malformed CCCD, then 404
    records_no_recognition when no recognition of it lies in those provinces (whether it has files elsewhere or
    none at all: the answer is the same)."""
    mine = record_provinces(actor)
    if not mine:
        raise NotAuthorized("records_forbidden")
    citizen_id = canonical_citizen_id(raw_citizen_id)
    if db.session.execute(citizen_query(citizen_id, mine).limit(1)).first() is None:
        raise NotFound("records_no_recognition")
    return citizen_id, mine


# ---------------------------------------------------------------- the signed document

def canonical(value: Any) -> bytes:
    """The canonical serialization: keys sorted, UTF-8 (no \\u escapes but for control characters), no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def utc_stamp(moment: datetime | None = None) -> str:
    return (moment or clock.now()).astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def province_scope(province: Unit, year: int) -> dict[str, Any]:
    return {"kind": "province_year", "province": {"code": province.code, "name": province.name}, "year": year,
            "citizen_id": None}


def citizen_scope(citizen_id: str) -> dict[str, Any]:
    return {"kind": "citizen", "province": None, "year": None, "citizen_id": citizen_id}


def signature_of(digest: bytes, key: Ed25519PrivateKey) -> dict[str, str]:
    public = PublicKey(key.public_key())
    return {"algorithm": ALGORITHM, "digest": "sha512:" + digest.hex(), "key_id": public.key_id,
            "value": base64.b64encode(key.sign(digest)).decode("ascii")}


def write(records: Iterable[dict[str, Any]], scope: dict[str, Any], key: Ed25519PrivateKey, *, issuer: str,
          generated_at: str | None = None) -> Iterator[bytes]:
    """The signed document as chunks of UTF-8, records one at a time: the canonical serialization of the document
    without "signature", hashed as it goes, then the signature member. The bytes are the canonical form of the
    whole document (the "signature" key sorts last)."""
    public = PublicKey(key.public_key())
    head = {"format": FORMAT, "generated_at": generated_at or utc_stamp(),
            "issuer": {"key_id": public.key_id, "name": issuer}, "records": [], "scope": scope}
    prefix, suffix = canonical(head).split(b'"records":[]', 1)
    digest = hashlib.sha512()

    def out(chunk: bytes) -> bytes:
        digest.update(chunk)
        return chunk

    yield out(prefix + b'"records":[')
    buffer: list[bytes] = []
    first = True
    for record in records:
        buffer.append(canonical(record) if first else b"," + canonical(record))
        first = False
        if len(buffer) >= 500:
            yield out(b"".join(buffer))
            buffer = []
    yield out(b"".join(buffer) + b"]" + suffix[:-1])  # suffix ends with the document's closing brace
    digest.update(b"}")
    yield b',"signature":' + canonical(signature_of(digest.digest(), key)) + b"}\n"


def export(stmt: Select, scope: dict[str, Any], key: Ed25519PrivateKey, *, issuer: str) -> Iterator[bytes]:
    """`write` over the rows of a query, streamed from the database."""
    return write((record_of(r) for r in stream_rows(stmt)), scope, key, issuer=issuer)


# ---------------------------------------------------------------- checking a document

class VerifyError(Exception):
    """Why a document does not verify: `what` is json, schema, key or signature."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")
        self.what, self.detail = what, detail


@dataclass(frozen=True)
class Verified:
    count: int
    key_id: str
    scope: dict[str, Any]


@cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_schema(document: Any) -> None:
    """Validate against docs/records-schema.json (JSON Schema 2020-12, formats asserted)."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        raise VerifyError("schema", f"{where}: {error.message[:200]}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse a repeated key: parsers differ on which one wins, so a document must not have any."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key is repeated in an object")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_signature(document: dict[str, Any], digest: bytes, trusted: Mapping[str, PublicKey]) -> PublicKey:
    """The key, the digest and the signature of a document whose schema holds (`document` without "signature")."""
    signature = document["signature"]
    key = trusted.get(signature["key_id"])
    if key is None:
        raise VerifyError("key", f"key unknown: {signature['key_id']} (trusted: {', '.join(sorted(trusted))})")
    if document["issuer"]["key_id"] != signature["key_id"]:
        raise VerifyError("signature", "the issuer's key id differs from the signature's")
    if signature["digest"] != "sha512:" + digest.hex():
        raise VerifyError("signature", "the content was changed (its SHA-512 digest differs from the signed one)")
    try:
        raw = base64.b64decode(signature["value"], validate=True)
        if base64.b64encode(raw).decode("ascii") != signature["value"]:  # unused trailing bits set
            raise ValueError("not canonical base64")
        key.key.verify(raw, digest)
    except (InvalidSignature, ValueError) as exc:
        raise VerifyError("signature", f"the signature was not made by key {key.key_id}") from exc
    return key


def verify_loaded(data: bytes, trusted: Mapping[str, PublicKey]) -> Verified:
    """Check a document held in memory whole: JSON, the schema, a known key, the digest and the signature."""
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise VerifyError("json", f"not a JSON document ({str(exc)[:120]})") from exc
    check_schema(document)
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    key = _check_signature(document, hashlib.sha512(canonical(unsigned)).digest(), trusted)
    return Verified(len(document["records"]), key.key_id, document["scope"])


def verify(source: bytes | BinaryIO, trusted: Mapping[str, PublicKey]) -> Verified:
    """Check a document (bytes or a binary file) a record at a time, so a file of a million records is never
    parsed whole: each record is validated against the schema's item and hashed in its canonical form as it is
    read. A document whose top-level members are not in canonical order (keys sorted) cannot be hashed as it is
    read and is checked whole instead (verify_loaded). Raises VerifyError naming json, schema, key or signature."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        return _Streamed(stream, trusted).run()
    except _NotCanonicalOrder:
        stream.seek(0)
        return verify_loaded(stream.read(), trusted)


class _NotCanonicalOrder(Exception):
    pass


_WS = " \t\n\r"
_MARK = '"records":[]'


class _Streamed:
    """A reader of one document: the top-level object member by member, the records array element by element."""

    CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO, trusted: Mapping[str, PublicKey]) -> None:
        self.stream, self.trusted = stream, trusted
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        self.buf, self.pos, self.eof = "", 0, False

    # -- reading
    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.stream.read(self.CHUNK)
            self.buf = self.buf[self.pos:] + self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise VerifyError("json", f"not UTF-8 ({exc.reason})") from exc
        self.pos = 0
        self.eof = not chunk
        return True

    def _peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def _expect(self, chars: str) -> str:
        ch = self._peek()
        if not ch or ch not in chars:
            raise VerifyError("json", f"not a JSON document (expected {' or '.join(chars)})")
        self.pos += 1
        return ch

    def _value(self) -> Any:
        self._peek()
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
            except (ValueError, RecursionError) as exc:
                if self._more():
                    continue
                raise VerifyError("json", f"not a JSON document ({str(exc)[:120]})") from exc
            if end == len(self.buf) and self._more():  # a number may go on in the next chunk
                continue
            self.pos = end
            return value

    # -- the document
    def run(self) -> Verified:
        self._expect("{")
        header: dict[str, Any] = {}
        digest, count, prefix = hashlib.sha512(), 0, None
        record_check = _record_validator()
        if self._peek() != "}":
            while True:
                key = self._value()
                if not isinstance(key, str):
                    raise VerifyError("json", "not a JSON document (an object key is not a string)")
                if key in header or (key == "records" and prefix is not None):
                    raise VerifyError("json", f"not a JSON document (the key {key} is repeated)")
                self._expect(":")
                if key == "records":
                    if any(k > "records" for k in header):
                        raise _NotCanonicalOrder
                    prefix = canonical({**header, "records": []}).split(_MARK.encode(), 1)[0]
                    digest.update(prefix + b'"records":[')
                    count = self._records(digest, record_check)
                else:
                    header[key] = self._value()
                if self._expect(",}") == "}":
                    break
        if self._peek():
            raise VerifyError("json", "not a JSON document (text after its end)")
        check_schema({**header, "records": []} if prefix is not None else header)
        before = {k: v for k, v in header.items() if k < "records"}
        if prefix is not None and canonical({**before, "records": []}).split(_MARK.encode(), 1)[0] != prefix:
            raise _NotCanonicalOrder  # a key that sorts before "records" came after it
        after = {k: v for k, v in header.items() if k > "records" and k != "signature"}
        digest.update(b"]" + canonical({"records": [], **after}).split(_MARK.encode(), 1)[1])
        key = _check_signature(header, digest.digest(), self.trusted)
        return Verified(count, key.key_id, header["scope"])

    def _records(self, digest: Any, check: Any) -> int:
        self._expect("[")
        if self._peek() == "]":
            self.pos += 1
            return 0
        n = 0
        while True:
            record = self._value()
            error = _best_error(check, record)
            if error is not None:
                where = "/".join(["records", str(n), *(str(p) for p in error.absolute_path)])
                raise VerifyError("schema", f"{where}: {error.message[:200]}")
            digest.update((b"," if n else b"") + canonical(record))
            n += 1
            if self._expect(",]") == "]":
                return n


@cache
def _record_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema()["properties"]["records"]["items"],
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _best_error(validator: Any, instance: Any) -> Any:
    if validator.is_valid(instance):
        return None
    from jsonschema.exceptions import best_match

    return best_match(validator.iter_errors(instance))

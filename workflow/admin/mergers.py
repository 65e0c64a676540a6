"""The 2025 mergers: linking each post-merger unit to the former units its official list names, then moving the
records of those old units under their successors (re-homing).

Matching looks, within one province, for a pre-merger commune of the same kind and folded name, spelt the same
(diacritics kept: "Đông Tiến" and "Đồng Tiến" are two communes of Bắc Ninh); a qualifier such as "(huyện Yên
Thế)" narrows the candidates to those under a district of that name (a note such as "(không sắp xếp)", not
rearranged, narrows nothing). Exactly one candidate is matched; a split ("(một phần)", "(phần còn lại)"), several
candidates or one found only with the diacritics ignored wait for a person (the hand mapping page); none is
unmatched. Re-homing then moves, set-wise, each old unit with exactly one successor: its branches and villages
(parent and the materialised path of the whole subtree, which authorization reads) and the commune's own files;
each moved file keeps its former unit, and each move is one audit event. History is never rewritten: the events
written before the move still name the old unit, and the old unit stays, closed on 30/6/2025."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from sqlalchemy import case, func, literal, or_, select, update

from ..authz import province_of
from ..db import db
from ..errors import NotFound
from ..inputs import parse_int
from ..models import Application, Unit, UnitPredecessor
from ..text import fold
from . import record, require_admin
from .inputs import Input, InvalidInput, parse

MERGER_DAY = date(2025, 7, 1)  # the two-tier local government starts (Resolution 202/2025/QH15)
OLD_VALID_TO = date(2025, 6, 30)  # the last day of the units it replaced
# Commune-level kinds, folded, longest first so "thi tran" is tried before a one-word kind.
COMMUNE_KIND_WORDS = ("thi tran", "dac khu", "phuong", "xa")
DISTRICT_KIND_WORDS = ("thanh pho", "thi xa", "huyen", "quan")
SPLIT_WORDS = ("mot phan", "phan con lai")
# Files of an old commune that stay with it: closed without a title (their history is the old unit's).
STAYING_STATES = ("rejected", "withdrawn", "revoked")

MATCHED, HAND, UNMATCHED = "matched", "hand", "unmatched"


def _bare(folded: str, words: tuple[str, ...]) -> str:
    """A folded unit name without its leading kind word ("xa dong phong" -> "dong phong")."""
    for word in words:
        if folded.startswith(word + " "):
            return folded[len(word) + 1:]
    return folded


def unit_kind(unit: Unit) -> str:
    """The folded kind of a commune: its `kind` when the list gave one, else the first word(s) of its name."""
    if unit.kind:
        return fold(unit.kind)
    for word in COMMUNE_KIND_WORDS:
        if unit.name_folded.startswith(word + " "):
            return word
    return ""


# Old and new placement of the tone mark on oa, oe, uy ("Hoà" / "Hòa"): one spelling, written two ways.
_TONES = {"\u0300": "", "\u0301": "", "\u0303": "", "\u0309": "", "\u0323": ""}
_PAIRS = ("oa", "oe", "uy")


def spelling(name: str | None) -> str:
    """A name as spelt, diacritics kept (lower case, NFC), with the tone of oa / oe / uy put on the second vowel
    whichever way it was typed."""
    import unicodedata

    text = " ".join(unicodedata.normalize("NFD", (name or "").lower()).split())
    for first, second in _PAIRS:
        for tone in _TONES:
            text = text.replace(f"{first}{tone}{second}", f"{first}{second}{tone}")
    return unicodedata.normalize("NFC", text)


def _exact(unit: Unit) -> str:
    """The unit's own name without its kind, as spelt."""
    name = spelling(unit.name)
    for kind in ("thị trấn", "đặc khu", "phường", "xã"):
        if name.startswith(kind + " "):
            return name[len(kind) + 1:]
    return name


def _qualifier(link: UnitPredecessor) -> str:
    return fold((link.qualifier or "").strip().strip("()"))


def is_split(link: UnitPredecessor) -> bool:
    """Only part of the former unit came over: never matched automatically."""
    return bool(link.partial) or _qualifier(link) in SPLIT_WORDS


def former_label(link: UnitPredecessor) -> str:
    """The former unit as the official list names it: "xã Đồng Tiến (huyện Yên Thế)"."""
    text = " ".join(p for p in (link.former_kind, link.former_name) if p)
    if link.qualifier:
        text += f" ({link.qualifier.strip().strip('()')})"
    return text


def _links(province: Unit) -> list[UnitPredecessor]:
    stmt = (select(UnitPredecessor).join(Unit, Unit.id == UnitPredecessor.successor_id)
            .where(Unit.path.startswith(province.path, autoescape=False))
            .order_by(Unit.name, UnitPredecessor.position, UnitPredecessor.id))
    return list(db.session.scalars(stmt))


def old_units(province: Unit, kind: str | None = None) -> list[Unit]:
    """The province's pre-merger communes (not a post-merger unit itself, not valid only from the merger day),
    optionally of one folded kind, by name: what a former name may be mapped to."""
    successors = select(UnitPredecessor.successor_id)
    stmt = (select(Unit).where(Unit.path.startswith(province.path, autoescape=False), Unit.level == "commune",
                               Unit.id.not_in(successors),
                               or_(Unit.valid_from.is_(None), Unit.valid_from < MERGER_DAY))
            .order_by(Unit.name, Unit.id))
    units = list(db.session.scalars(stmt))
    return [u for u in units if kind is None or unit_kind(u) == kind]


@dataclass
class LinkStatus:
    """One former name of a post-merger unit and where matching stands."""

    link: UnitPredecessor
    status: str  # matched | hand | unmatched
    reason: str | None  # hand: "split", "several", or "spelling" (found only with diacritics ignored)
    predecessor: Unit | None  # the linked old unit, or the single candidate matching would link
    candidates: list[Unit] = field(default_factory=list)

    @property
    def label(self) -> str:
        return former_label(self.link)


def statuses(province: Unit) -> list[LinkStatus]:
    """Where each former name of the province's post-merger units stands, without writing anything: linked
    already (by matching or by hand), one candidate (matching will link it), a split or several candidates (a
    person decides), or no candidate at all."""
    pool = old_units(province)
    districts = {u.id: _bare(u.name_folded, DISTRICT_KIND_WORDS) for u in db.session.scalars(
        select(Unit).where(Unit.path.startswith(province.path, autoescape=False), Unit.level == "district"))}
    by_key: dict[tuple[str, str], list[Unit]] = defaultdict(list)
    for unit in pool:
        by_key[(unit_kind(unit), _bare(unit.name_folded, COMMUNE_KIND_WORDS))].append(unit)
    by_id = {u.id: u for u in pool}
    out = []
    for link in _links(province):
        kind = fold(link.former_kind)
        name = _bare(fold(link.former_name), COMMUNE_KIND_WORDS)
        if kind:
            candidates = list(by_key.get((kind, name), []))
        else:
            candidates = [u for (k, n), us in by_key.items() if n == name for u in us]
        # "Đông Tiến" and "Đồng Tiến" (both in Bắc Ninh), "Văn Lăng" and "Văn Lang" fold alike: the spelling
        # decides; a unit found only by its folded name waits for a person to confirm it.
        spelled = [u for u in candidates if _exact(u) == spelling(link.former_name)]
        respelt = bool(candidates) and not spelled
        candidates = spelled or candidates
        qualifier = _qualifier(link)
        # "(huyện Yên Thế)" names the old district; other notes ("không sắp xếp": not rearranged) narrow nothing
        if qualifier and not is_split(link) and _bare(qualifier, DISTRICT_KIND_WORDS) != qualifier:
            wanted = _bare(qualifier, DISTRICT_KIND_WORDS)
            candidates = [u for u in candidates
                          if any(districts.get(int(p)) == wanted for p in u.path.strip("/").split("/"))]
        if link.predecessor_id is not None:
            linked = by_id.get(link.predecessor_id) or db.session.get(Unit, link.predecessor_id)
            out.append(LinkStatus(link, MATCHED, None, linked, candidates))
        elif is_split(link):
            out.append(LinkStatus(link, HAND, "split", None, candidates))
        elif respelt:
            out.append(LinkStatus(link, HAND, "spelling", None, candidates))
        elif len(candidates) == 1:
            out.append(LinkStatus(link, MATCHED, None, candidates[0], candidates))
        elif candidates:
            out.append(LinkStatus(link, HAND, "several", None, candidates))
        else:
            out.append(LinkStatus(link, UNMATCHED, None, None, candidates))
    return out


def _close(unit: Unit) -> None:
    if unit.valid_to is None:
        unit.valid_to = OLD_VALID_TO


def match(province: Unit, actor=None) -> dict[str, int]:
    """Link every former name with exactly one candidate to it and close that old unit on 30/6/2025; one audit
    event for the run when anything was linked. `actor` None is the system (the CLI). Returns counts per status
    after the run."""
    if actor is not None:
        require_admin(actor, province)
    linked = []
    rows = statuses(province)
    for row in rows:
        if row.status == MATCHED and row.link.predecessor_id is None and row.predecessor is not None:
            row.link.predecessor_id = row.predecessor.id
            _close(row.predecessor)
            linked.append({"link_id": row.link.id, "former": row.label, "successor_id": row.link.successor_id,
                           "predecessor_id": row.predecessor.id, "predecessor_name": row.predecessor.name})
    counts = {s: sum(r.status == s for r in rows) for s in (MATCHED, HAND, UNMATCHED)}
    if linked:
        db.session.flush()
        record(actor, "unit.match_predecessors", "unit", province.id, after={"linked": linked}, unit=province,
               counts=counts)
    return counts


def _choice_id(value: object) -> int:
    number = parse_int(value, minimum=1)
    if number is None:
        raise PydanticCustomError("int_parsing", "not a whole number")
    return number


class MapPredecessor(Input):
    """The hand mapping form: the old unit a former name stands for."""

    predecessor_id: Annotated[int, BeforeValidator(_choice_id)]


def link_in_scope(actor, link_id: int) -> tuple[UnitPredecessor, Unit]:
    """The link and its province, when the actor administers that province (else not found / not allowed)."""
    link = db.session.get(UnitPredecessor, link_id)
    if link is None:
        raise NotFound("unit_not_found")
    province = db.session.get(Unit, province_of(link.successor.path))
    require_admin(actor, province)
    return link, province


def map_predecessor(actor, link_id: int, data: dict) -> UnitPredecessor:
    """A person says which old unit a former name stands for (a split, several candidates, a name the list
    spells differently): one of the province's pre-merger communes of that kind; audited."""
    link, province = link_in_scope(actor, link_id)
    form = parse(MapPredecessor, data)
    kind = fold(link.former_kind) or None
    choices = {u.id: u for u in old_units(province, kind)}
    old = choices.get(form.predecessor_id)
    if old is None:
        raise InvalidInput({"predecessor_id": ("choice", {"choices": ", ".join(u.name for u in choices.values())})})
    before = {"predecessor_id": link.predecessor_id,
              "predecessor_name": link.predecessor.name if link.predecessor else None}
    link.predecessor_id = old.id
    _close(old)
    db.session.flush()
    record(actor, "unit.map_predecessor", "unit_predecessor", link.id, before=before,
           after={"predecessor_id": old.id, "predecessor_name": old.name}, unit=link.successor,
           former=former_label(link), successor_id=link.successor_id, successor_name=link.successor.name)
    return link


@dataclass
class RehomeRow:
    """One line of the re-homing report."""

    status: str  # moved | would_move | nothing_to_move | needs_hand_mapping | unmatched
    former: str  # the old unit's name, or the former name as the list gives it
    former_unit_id: int | None
    successor: str
    successor_id: int | None
    branches: int = 0
    applications: int = 0
    note: str = ""


REPORT_FIELDS = ("status", "former", "former_unit_id", "successor", "successor_id", "branches", "applications",
                 "note")


def _subtree(unit: Unit):
    return select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=False), Unit.id != unit.id)


def _moving_counts(old: Unit) -> tuple[int, int]:
    """(direct children, files) that re-homing `old` moves: every file of its subtree, and its own files except
    those closed without a title."""
    children = db.session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id == old.id)) or 0
    files = db.session.scalar(select(func.count()).select_from(Application).where(or_(
        Application.unit_id.in_(_subtree(old)),
        (Application.unit_id == old.id) & Application.state.not_in(STAYING_STATES)))) or 0
    return children, files


def _move(old: Unit, new: Unit, actor, children: int, files: int) -> None:
    """The set-wise move of one old unit: its files first (while the subtree still has its old paths), then the
    subtree's paths and the children's parent; one audit event."""
    db.session.execute(update(Application).where(Application.unit_id.in_(_subtree(old)))
                       .values(former_unit_id=old.id).execution_options(synchronize_session=False))
    own = db.session.execute(update(Application).where(Application.unit_id == old.id,
                                                       Application.state.not_in(STAYING_STATES))
                             .values(former_unit_id=old.id, unit_id=new.id)
                             .execution_options(synchronize_session=False)).rowcount
    prefix = len(old.path)
    db.session.execute(update(Unit).where(Unit.path.startswith(old.path, autoescape=False), Unit.id != old.id)
                       .values(path=literal(new.path) + func.substr(Unit.path, prefix + 1),
                               parent_id=case((Unit.parent_id == old.id, new.id), else_=Unit.parent_id))
                       .execution_options(synchronize_session=False))
    _close(old)
    record(actor, "unit.rehome", "unit", old.id, before={"unit_id": old.id, "unit_name": old.name,
                                                         "unit_path": old.path},
           after={"unit_id": new.id, "unit_name": new.name, "unit_path": new.path}, unit=new,
           branches=children, applications=files, own_applications=own)


def rehome(province: Unit, *, dry_run: bool = False, actor=None) -> list[RehomeRow]:
    """Match, then move every old unit of the province that has exactly one successor; report every old unit and
    every former name still unresolved. A dry run computes the same report and writes nothing. A second run finds
    the old units empty and moves nothing."""
    if actor is not None:
        require_admin(actor, province)
    rows = statuses(province)
    if not dry_run:
        match(province, actor)
    successors: dict[int, dict[int, Unit]] = defaultdict(dict)
    olds: dict[int, Unit] = {}
    report: list[RehomeRow] = []
    for row in rows:
        if row.status == MATCHED and row.predecessor is not None:
            successors[row.predecessor.id][row.link.successor_id] = row.link.successor
            olds[row.predecessor.id] = row.predecessor
        else:
            note = {"split": "split", "several": f"{len(row.candidates)} candidates",
                    "spelling": "spelt differently: " + ", ".join(u.name for u in row.candidates)}.get(
                row.reason or "", "")
            report.append(RehomeRow("needs_hand_mapping" if row.status == HAND else "unmatched", row.label, None,
                                    row.link.successor.name, row.link.successor_id, note=note))
    moved: list[RehomeRow] = []
    for old_id, news in sorted(successors.items(), key=lambda kv: olds[kv[0]].name):
        old = olds[old_id]
        children, files = _moving_counts(old)
        if len(news) > 1:
            names = "; ".join(sorted(u.name for u in news.values()))
            moved.append(RehomeRow("needs_hand_mapping", old.name, old.id, names, None, children, files,
                                   note="several successors"))
            continue
        (new,) = news.values()
        if not children and not files:
            moved.append(RehomeRow("nothing_to_move", old.name, old.id, new.name, new.id))
            continue
        if not dry_run:
            _move(old, new, actor, children, files)
        moved.append(RehomeRow("would_move" if dry_run else "moved", old.name, old.id, new.name, new.id, children,
                               files))
    if not dry_run:
        db.session.flush()
        db.session.expire_all()  # paths and parents changed under the ORM's feet
    return moved + report


def report_csv(rows: list[RehomeRow]) -> str:
    """The report as CSV (UTF-8 with a BOM so a spreadsheet reads the Vietnamese names), formulas neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(REPORT_FIELDS)
    for row in rows:
        values = asdict(row)
        writer.writerow([_cell(values[f]) for f in REPORT_FIELDS])
    return "\ufeff" + buf.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def summary(rows: list[RehomeRow]) -> dict[str, int]:
    """Counts per status, and the totals moved (or that would be)."""
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        out[row.status] += 1
        out["branches"] += row.branches if row.status in ("moved", "would_move") else 0
        out["applications"] += row.applications if row.status in ("moved", "would_move") else 0
    return dict(out)


def provinces_for(actor) -> list[Unit]:
    """The provinces the actor administers (the page lists each)."""
    from . import ADMIN, as_actor

    actor = as_actor(actor)
    roots = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.name))
    return [p for p in roots if actor.covers(p.path, ADMIN)]

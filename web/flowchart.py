"""A title's workflow drawn as an SVG picture by the app itself (no CDN, no script, no system dependency).

The charts are short chains with a few back edges (returns) and side exits (withdraw, reject), so a small layout
is enough and reads best on a phone: the longest forward path from the first stage runs down the middle ("the
spine"), back edges bow out on the left with their label beside them, and the states off the spine (the closed
ones a file can leave to) sit in a column on the right, reached by elbows. Everything is computed from the states
and transitions given, so any title's machine is drawn the same way (issue 14 adds titles). Labels come in
already translated: this module knows nothing of Flask or the engine."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

# Geometry of the viewBox (the picture scales to the page's width; at 390 px it is drawn about 1:1).
WIDTH = 380
LANE = 100  # left lane: back edges and their labels
BOX_W = 146  # spine boxes
SIDE_X, SIDE_W = 270, 106  # right column: states off the spine
GAP = 62  # vertical room between spine boxes (the forward edge and its label)
LINE = 16  # text line height
PAD = 9  # inside a box
STATE_FONT, EDGE_FONT, NOTE_FONT = 13, 12, 11
CHAR_EM = 0.56  # average width of a character of a sans-serif font, in em (Vietnamese marks sit above or below)

STYLE = """
.wf-box{fill:#eef4fb;stroke:#1f4e79;stroke-width:1.5}
.wf-box.wf-first{fill:#dcebf9}
.wf-box.wf-good{fill:#e3f3e6;stroke:#1e6b34}
.wf-box.wf-end{fill:#f6eceb;stroke:#8a2c22}
.wf-state{font:600 13px system-ui,sans-serif;fill:#15222e}
.wf-note{font:11px system-ui,sans-serif;fill:#3c4a57}
.wf-edge{fill:none;stroke:#3c4a57;stroke-width:1.4}
.wf-edge.wf-back{stroke:#9a5b00;stroke-dasharray:5 3}
.wf-edge.wf-exit{stroke:#8a2c22}
.wf-label{font:12px system-ui,sans-serif;fill:#15222e}
.wf-label.wf-back{fill:#7a4700}
.wf-label.wf-exit{fill:#8a2c22}
.wf-arrow{fill:#3c4a57}
""".strip()


@dataclass
class Node:
    state: str
    lines: list[str]
    note: list[str]
    x: float = 0
    y: float = 0
    w: float = BOX_W
    h: float = 0
    spine: bool = False

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def wrap(text: str, width: float, font: int) -> list[str]:
    """Break `text` into lines that fit `width` px at `font` px (by an average character width: good enough for
    labels of a few words; a word longer than the width keeps a line of its own)."""
    most = max(4, int(width / (font * CHAR_EM)))
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= most:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def spine_of(states: list[str], edges: list[tuple[str, str, str]], first: str) -> tuple[list[str], set]:
    """(the longest forward path from `first`, the back edges): a depth-first walk from `first` calls an edge back
    when it leads to a state on the walk's own stack; the rest form a DAG whose longest path is the spine."""
    out = defaultdict(list)
    for src, _, dst in edges:
        if dst not in out[src]:
            out[src].append(dst)
    back: set[tuple[str, str]] = set()
    order: list[str] = []
    stack: list[str] = []
    seen: set[str] = set()

    def walk(node: str) -> None:
        seen.add(node)
        stack.append(node)
        for nxt in out[node]:
            if nxt in stack:
                back.add((node, nxt))
            elif nxt not in seen:
                walk(nxt)
        stack.pop()
        order.append(node)

    walk(first)
    for s in states:  # anything the first stage does not reach still gets drawn
        if s not in seen:
            walk(s)
    longest = {s: (0, None) for s in order}
    for node in reversed(order):  # reverse post-order is a topological order of the forward edges
        for nxt in out[node]:
            if (node, nxt) not in back and longest[node][0] + 1 > longest[nxt][0]:
                longest[nxt] = (longest[node][0] + 1, node)
    end = max((s for s in order if longest[s][0] or s == first), key=lambda s: longest[s][0])
    path = [end]
    while longest[path[-1]][1] is not None:
        path.append(longest[path[-1]][1])
    path.reverse()
    if path[0] != first:
        path = [first]
    return path, back


def render(states: list[str], edges: list[tuple[str, str, str]], *, state_label, action_label,
           notes: dict[str, str] | None = None, good: tuple[str, ...] = (), ends: tuple[str, ...] = (),
           title: str = "", description: str = "") -> str:
    """The SVG of a machine: `states` in their definition order (the first is where a file starts), `edges` as
    (source, action, destination); `state_label(state)` and `action_label(action)` give the words shown, `notes`
    a second line under a state (who acts there). `good` and `ends` colour closed states (recognised; rejected,
    withdrawn, revoked)."""
    notes = notes or {}
    first = states[0]
    spine, back = spine_of(states, edges, first)
    nodes: dict[str, Node] = {}
    for s in states:
        on_spine = s in spine
        width = BOX_W if on_spine else SIDE_W
        nodes[s] = Node(s, wrap(state_label(s), width - 2 * PAD, STATE_FONT),
                        wrap(notes[s], width - 2 * PAD, NOTE_FONT) if notes.get(s) else [], w=width, spine=on_spine)
        nodes[s].h = 2 * PAD + LINE * len(nodes[s].lines) + (LINE - 2) * len(nodes[s].note)

    # Actions between the same two states share one edge and one label ("Phê duyệt · Gửi lên").
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for src, action, dst in edges:
        if src != dst and action_label(action) not in grouped[(src, dst)]:
            grouped[(src, dst)].append(action_label(action))

    y = 8.0
    for s in spine:
        n = nodes[s]
        n.x, n.y = LANE, y
        y += n.h + GAP
    bottom = y - GAP
    # Side states beside the middle of the spine states that lead to them, pushed down so they never overlap.
    side = [s for s in states if s not in spine]
    wanted = {}
    for s in side:
        sources = [nodes[a].cy for (a, b) in grouped if b == s and a in spine]
        wanted[s] = sum(sources) / len(sources) if sources else bottom + 40
    floor = 8.0
    for s in sorted(side, key=lambda s: (wanted[s], states.index(s))):
        n = nodes[s]
        n.x = SIDE_X
        n.y = max(wanted[s] - n.h / 2, floor)
        floor = n.y + n.h + 14
        bottom = max(bottom, n.y + n.h)

    parts: list[str] = []
    labels: list[str] = []
    for (src, dst), actions in grouped.items():
        a, b = nodes[src], nodes[dst]
        text = " · ".join(actions)
        if a.spine and b.spine and (src, dst) in back:
            parts.append(_back_edge(a, b, text, labels))
        elif a.spine and b.spine:
            parts.append(_forward_edge(a, b, text, labels, skip=spine.index(dst) - spine.index(src) > 1))
        elif a.spine and not b.spine:
            parts.append(_exit_edge(a, b, text, labels))
        else:
            parts.append(_straight_edge(a, b, text, labels))
    boxes = [_box(n, first, good, ends) for n in nodes.values()]
    height = bottom + 10
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
            f'height="{height:.0f}" role="img" aria-labelledby="wf-title wf-desc" class="flowchart">'
            f'<title id="wf-title">{escape(title)}</title><desc id="wf-desc">{escape(description)}</desc>'
            f'<style>{STYLE}</style><defs><marker id="wf-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            'class="wf-arrow"/></marker></defs>')
    return head + "".join(parts) + "".join(boxes) + "".join(labels) + "</svg>"


def _box(n: Node, first: str, good: tuple[str, ...], ends: tuple[str, ...]) -> str:
    kind = " wf-first" if n.state == first else " wf-good" if n.state in good else " wf-end" if n.state in ends else ""
    out = [f'<g class="wf-node" data-state="{escape(n.state)}"><rect class="wf-box{kind}" x="{n.x:.0f}" '
           f'y="{n.y:.0f}" width="{n.w:.0f}" height="{n.h:.0f}" rx="8"/>']
    y = n.y + PAD + LINE - 4
    for line in n.lines:
        out.append(f'<text class="wf-state" x="{n.cx:.0f}" y="{y:.0f}" text-anchor="middle">{escape(line)}</text>')
        y += LINE
    for line in n.note:
        out.append(f'<text class="wf-note" x="{n.cx:.0f}" y="{y - 1:.0f}" text-anchor="middle">{escape(line)}</text>')
        y += LINE - 2
    out.append("</g>")
    return "".join(out)


def _label(x: float, y: float, text: str, width: float, kind: str, anchor: str = "start",
           align: str = "top") -> str:
    """An edge's words at (x, y), wrapped to `width`: `align` "top" hangs the lines from y, "bottom" stands them
    on it (the last line at y), "middle" centres them on it."""
    lines = wrap(text, width, EDGE_FONT)
    rise = (len(lines) - 1) * (LINE - 2)
    y -= rise if align == "bottom" else rise / 2 if align == "middle" else 0
    tspans = "".join(f'<tspan x="{x:.0f}" dy="{0 if i == 0 else LINE - 2}">{escape(line)}</tspan>'
                     for i, line in enumerate(lines))
    return f'<text class="wf-label{kind}" x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">{tspans}</text>'


def _path(d: str, kind: str = "") -> str:
    return f'<path class="wf-edge{kind}" d="{d}" marker-end="url(#wf-arrowhead)"/>'


def _forward_edge(a: Node, b: Node, text: str, labels: list[str], skip: bool = False) -> str:
    if skip:  # past a stage: bow out on the right of the spine
        x0, x1 = a.x + a.w, b.x + b.w
        labels.append(_label(x0 + 26, (a.y + a.h + b.y) / 2, text, SIDE_X - x0 - 30, ""))
        return _path(f"M{x0:.0f},{a.cy:.0f} C{x0 + 24:.0f},{a.cy:.0f} {x1 + 24:.0f},{b.cy:.0f} {x1:.0f},{b.cy:.0f}")
    y0, y1 = a.y + a.h, b.y
    labels.append(_label(a.cx + 8, y0 + GAP / 2 + 4, text, SIDE_X - a.cx - 14, "", align="middle"))
    return _path(f"M{a.cx:.0f},{y0:.0f} L{a.cx:.0f},{y1 - 1:.0f}")


def _back_edge(a: Node, b: Node, text: str, labels: list[str]) -> str:
    """From the left of a later state up to the left of an earlier one, the label to the left of the bow."""
    bow = min(LANE / 2, 22 + abs(a.y - b.y) / 40)  # a longer jump bows further out
    y0, y1 = a.y + min(12, a.h / 3), b.y + b.h - min(12, b.h / 3)
    leftmost = a.x - 0.75 * bow  # how far a cubic with both handles at x - bow reaches
    labels.append(_label(leftmost - 4, (y0 + y1) / 2 + 4, text, leftmost - 8, " wf-back", anchor="end",
                         align="middle"))
    return _path(f"M{a.x:.0f},{y0:.0f} C{a.x - bow:.0f},{y0:.0f} {b.x - bow:.0f},{y1:.0f} {b.x:.0f},{y1:.0f}",
                 " wf-back")


def _exit_edge(a: Node, b: Node, text: str, labels: list[str]) -> str:
    """From the right of a spine state across, then down or up into the side state; the label over the run."""
    x0, y0 = a.x + a.w, a.cy
    x1 = b.cx
    y1 = b.y if a.cy < b.y else b.y + b.h if a.cy > b.y + b.h else None
    if y1 is None:  # level with the box: straight across into its side
        labels.append(_label(x0 + 4, y0 - 5, text, SIDE_X - x0 - 6, " wf-exit", align="bottom"))
        return _path(f"M{x0:.0f},{y0:.0f} L{b.x - 1:.0f},{y0:.0f}", " wf-exit")
    labels.append(_label(x0 + 4, y0 - 5, text, x1 - x0 - 6, " wf-exit", align="bottom"))
    return _path(f"M{x0:.0f},{y0:.0f} L{x1:.0f},{y0:.0f} L{x1:.0f},{y1:.0f}", " wf-exit")


def _straight_edge(a: Node, b: Node, text: str, labels: list[str]) -> str:
    labels.append(_label((a.cx + b.cx) / 2 + 4, (a.cy + b.cy) / 2, text, 90, ""))
    return _path(f"M{a.cx:.0f},{a.y + a.h:.0f} L{b.cx:.0f},{b.y:.0f}")

"""The layers' one-way rule (DESIGN.md): workflow/ knows nothing of web/ or notifications/, and notifications/ never
imports web/, not even inside a function, so the worker never loads a view and the engine runs without either."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"workflow": {"web", "notifications"}, "notifications": {"web"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere in its body (relative imports stay in its own package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package):
    wrong = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & FORBIDDEN[package])
             for p in sorted((ROOT / package).rglob("*.py"))}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from web.i18n import STATE_LABELS\n    return STATE_LABELS\n")
    assert imported_packages(module) == {"web"}

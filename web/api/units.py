"""API: units of the caller's scope, adding units, importing a province's commune list (workflow.admin.units)."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on this blueprint)

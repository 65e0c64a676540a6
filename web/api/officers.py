"""API: users and their role grants in the caller's scope (workflow.admin.officers)."""
from __future__ import annotations

from . import bp  # noqa: F401  (routes register on this blueprint)

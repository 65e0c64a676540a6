"""Pages of the administration. Units: the province's tree, the commune list import, branches and villages,
area classes, the 2025 mergers. Views only read and call workflow.admin; they never write by themselves."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_units", __name__, url_prefix="/admin/units")

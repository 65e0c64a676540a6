"""Pages of the administration. Officers: users, role grants, one-time set-password links, the officers spreadsheet.
Views only read and call workflow.admin; they never write by themselves."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_officers", __name__, url_prefix="/admin/users")

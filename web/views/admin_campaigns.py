"""Pages of the administration. Campaigns: open, edit (extensions with a reason), close; their deadlines.
Views only read and call workflow.admin; they never write by themselves."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_campaigns", __name__, url_prefix="/admin/campaigns")

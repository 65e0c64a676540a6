"""The OpenAPI description of the officers endpoints, added to the document of web/api/openapi.py."""
from __future__ import annotations

from .openapi import PATHS, SCHEMAS  # noqa: F401

PATHS.update({})
SCHEMAS.update({})

"""Certificates as PDF (issue 12 §2): one page per certificate, A4 or A5 landscape (workflow/data/certificates.json
"paper", or CERTIFICATE_PAPER), printed in batches (one PDF per branch for CDHT, per commune for XHT: the pages
route's ?unit=, the CLI's files). Each page carries what /verify/<code> shows and a QR code (segno, inline SVG, no
image files) of the verify address, the address also in text under the code. The base of that address is
PUBLIC_BASE_URL (set it in production: the address the public reaches; in development the request's host)."""
from __future__ import annotations

from collections.abc import Sequence

import segno

from ..certificates import Facts, settings
from . import TEMPLATES, render_html

PAPERS = ("A4", "A5")


def paper(configured: str | None = None) -> str:
    """The configured paper size (A4 unless the data or the environment says A5)."""
    value = (configured or settings().get("paper") or "A4").upper()
    return value if value in PAPERS else "A4"


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{code}"


def qr_svg(url: str) -> str:
    """The QR code of `url` as inline SVG (error correction M: a crease or a stamp over a corner still reads)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, omitsize=True)


def render(facts: Sequence[Facts], base_url: str, size: str | None = None) -> tuple[bytes, int]:
    """The PDF of these certificates, one page each: (bytes, pages)."""
    from weasyprint import HTML

    size = paper(size)
    pages = [{"f": f, "url": verify_url(base_url, f.code), "qr": qr_svg(verify_url(base_url, f.code))}
             for f in facts]
    html = render_html("paper_certificate.html", pages=pages, size=size, words=settings())
    document = HTML(string=html, base_url=str(TEMPLATES)).render()
    return document.write_pdf(), len(document.pages)

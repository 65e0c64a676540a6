"""Behind a reverse proxy every request comes from the proxy's address: the login throttle would then treat the
whole province as one client. TRUSTED_PROXIES=N (the exact number of proxies in front of the app, usually 1)
makes werkzeug's ProxyFix take the client address, scheme and host from the last N X-Forwarded-* hops. Never set
it higher than the real number of proxies: a client could then forge its address (docs/deployment.md)."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

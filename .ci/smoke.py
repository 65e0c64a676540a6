"""The production smoke over HTTP, against gunicorn started by .ci/run (PostgreSQL as the runtime role, Redis,
HOCTAP_ENV=production): readiness, a page login with its CSRF token, a work queue, logout ending a copied cookie,
an API token and an approval through the API. Exits non-zero at the first surprise. Standard library only."""
from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/")
APPRAISER, PASSWORD = "xa1.thamdinh", "hoctap-demo"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect()), jar


def call(opener, path: str, data: dict | None = None, *, json_body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict, str]:
    body, hdrs = None, dict(headers or {})
    if json_body is not None:
        body, hdrs["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    elif data is not None:
        body = urllib.parse.urlencode(data).encode()
    req = urllib.request.Request(BASE + path, data=body, headers=hdrs)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        raise SystemExit(1)


def main() -> None:
    plain = urllib.request.build_opener(NoRedirect())
    for _ in range(150):
        try:
            if call(plain, "/health/ready")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    check(call(plain, "/health/ready")[0] == 200, "readiness: database reachable and migrated")
    check(call(plain, "/health/live")[0] == 200, "liveness")

    office, jar = browser()
    form = call(office, "/login")[2]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    status, headers, _ = call(office, "/login", {"csrf_token": token, "username": APPRAISER, "password": PASSWORD})
    check(status == 302 and headers.get("Location") == "/", "page login with CSRF token")
    pages = [call(office, "/applications")[0] for _ in range(12)]  # four workers, one shared key
    check(pages == [200] * 12, f"work queue stays logged in across workers ({pages})")

    stolen, stolen_jar = browser()
    for cookie in jar:
        stolen_jar.set_cookie(cookie)
    check(call(stolen, "/applications")[0] == 200, "a copied session cookie works while the session lives")
    page = call(office, "/applications")[2]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    check(call(office, "/logout", {"csrf_token": token})[0] == 302, "logout")
    check(call(stolen, "/applications")[0] == 302, "after logout the copied cookie is refused")

    status, _, body = call(plain, "/api/v1/tokens", json_body={"username": APPRAISER, "password": PASSWORD})
    check(status == 200, "API token")
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"]}
    status, _, body = call(plain, "/api/v1/applications?state=commune_appraisal&per_page=100", headers=bearer)
    items = json.loads(body)["items"]
    check(status == 200 and items, f"API queue: {len(items)} applications awaiting appraisal")
    for item in items:
        detail = json.loads(call(plain, f"/api/v1/applications/{item['id']}", headers=bearer)[2])
        if "approve" in detail.get("allowed_actions", []):
            status, _, body = call(plain, f"/api/v1/applications/{item['id']}/actions/approve",
                                   json_body={"version": detail["version"]}, headers=bearer)
            check(status == 200 and json.loads(body)["state"] == "final_approval",
                  f"approval of application {item['id']} through the API")
            break
    else:
        check(False, "an application the appraiser may approve")


if __name__ == "__main__":
    main()

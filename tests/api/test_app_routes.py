# SPDX-License-Identifier: AGPL-3.0-or-later
"""The Guichet app's routes (web/app/ at /app/, docs/app.md): the page with
its own policies (camera for its own origin, Trusted Types, its workers),
its scripts and manifest with the right types, and nothing else -- no
.json, no path out of the folder, a JSON 404 for what is not there, a 405
for anything but GET.  The browser tests (tests/e2e/app.test.mjs) use the
app; this checks what guichetd answers for it."""
import requests

from helpers import assert_error


def get(guichet, path):
    return requests.get(guichet.url(path), timeout=10)


def test_the_app_page_has_its_own_policies(guichet):
    r = get(guichet, "/app/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-store"
    csp = r.headers["Content-Security-Policy"]
    for part in ("default-src 'none'", "script-src 'self'", "worker-src 'self'",
                 "manifest-src 'self'", "frame-ancestors 'none'",
                 "require-trusted-types-for 'script'", "trusted-types guichet-app"):
        assert part in csp, part
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "camera=(self)" in r.headers["Permissions-Policy"]
    assert "microphone=()" in r.headers["Permissions-Policy"]
    assert '<link rel="manifest" href="manifest.webmanifest">' in r.text
    # the same page by name
    assert get(guichet, "/app/index.html").text == r.text


def test_the_apps_files_and_their_types(guichet):
    for name, ctype in (("app.js", "text/javascript"), ("crypto.js", "text/javascript"),
                        ("sw.js", "text/javascript"), ("style.css", "text/css"),
                        ("icon.svg", "image/svg+xml"), ("icon-192.png", "image/png"),
                        ("manifest.webmanifest", "application/manifest+json")):
        r = get(guichet, "/app/" + name)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"].startswith(ctype), (name, r.headers["Content-Type"])
        # workers run under their script's own policy: their own origin only
        if ctype == "text/javascript":
            assert r.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
        else:
            assert "camera=(self)" not in r.headers.get("Permissions-Policy", "")
    manifest = get(guichet, "/app/manifest.webmanifest").json()
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"


def test_the_qr_decoder_from_npm(guichet):
    """./dev build copies the decoder from npm into web/app/vendor/ (not in
    git); guichetd serves it as a script of the app."""
    r = get(guichet, "/app/vendor/jsQR.js")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/javascript")
    assert "jsQR" in r.text


def test_nothing_else_is_served_from_app(guichet):
    for bad in ("/app/package.json", "/app/package-lock.json", "/app/missing.js",
                "/app/.hidden.js", "/app/..%2Fenrol%2Findex.html", "/app/%2e%2e%2Fapi.md",
                "/app/vendor/missing.js", "/app/vendor/..%2Fapp.js", "/app/node_modules/jsqr/package.json"):
        assert_error(get(guichet, bad), 404, "not_found")
    for method in ("POST", "PUT", "DELETE"):
        assert_error(requests.request(method, guichet.url("/app/"), timeout=10), 405,
                     "method_not_allowed")

# SPDX-License-Identifier: AGPL-3.0-or-later
"""docs/openapi.yaml describes exactly the routes guichetd serves.

`guichetd routes` prints server/router.c's table; every route must be in
the spec (same method and path, operationId = the route's name) and every
operation in the spec must be a route.  When a branch adds routes, the
failure names each missing or extra one, so whoever merges it knows what
to add to docs/openapi.yaml.  Beyond the list: the spec parses as
OpenAPI 3.1, every $ref resolves, each path parameter is declared, the
security of each operation matches the route's authentication, each body
the route reads is described with the route's media type, errors use the
Error schema -- and one request per kind of route shows the server and the
spec agree on what is refused."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml

from harness import REPO
from test_enrolments import applicant, body_for

SPEC = REPO / "docs" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
AUTH_SCHEMES = {
    "none": set(),
    "api_key": {"apiKey"},
    "applicant": {"applicantSession"},
    "device": {"deviceId", "deviceTimestamp", "deviceSignature"},
}


@pytest.fixture(scope="module")
def spec():
    with open(SPEC) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def routes(guichet):
    return guichet.cli("routes")["routes"]


def shape(path):
    """A path with every parameter written {} (router.c's {} and {file},
    the spec's {id}, {assist_id}, ...)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def drift(routes, spec):
    """@return (missing, extra, renamed): lines naming each difference."""
    served = {(r["method"], shape(r["path"])): r for r in routes}
    described = {(m, shape(p)): (p, op) for m, p, op in operations(spec)}
    missing = [f"{m} {served[(m, p)]['path']} (route {served[(m, p)]['name']})"
               for m, p in sorted(served.keys() - described.keys())]
    extra = [f"{m} {described[(m, p)][0]}" for m, p in sorted(described.keys() - served.keys())]
    renamed = [f"{m} {served[(m, p)]['path']}: operationId "
               f"{described[(m, p)][1].get('operationId')!r}, route name {served[(m, p)]['name']!r}"
               for m, p in sorted(served.keys() & described.keys())
               if described[(m, p)][1].get("operationId") != served[(m, p)]["name"]]
    return missing, extra, renamed


def drift_message(missing, extra, renamed):
    parts = []
    if missing:
        parts.append("served by guichetd (server/router.c) but missing from docs/openapi.yaml:\n  "
                     + "\n  ".join(missing))
    if extra:
        parts.append("in docs/openapi.yaml but not served by guichetd:\n  " + "\n  ".join(extra))
    if renamed:
        parts.append("operationId is not the route's name:\n  " + "\n  ".join(renamed))
    return "\n".join(parts)


def test_spec_parses_as_openapi_3_1(spec):
    assert re.fullmatch(r"3\.1\.\d+", str(spec["openapi"])), spec["openapi"]
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"] and spec["components"]["schemas"]["Error"]
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)), "operationIds repeat"


def test_routes_command_lists_the_table(routes):
    assert len(routes) >= 60
    for r in routes:
        assert r["method"] in ("GET", "POST", "DELETE", "PUT"), r
        assert r["path"].startswith("/") and r["name"], r
        assert r["auth"] in ("none", "api_key", "applicant", "device", "admin"), r
        assert r["body"] in ("none", "json", "raw") and r["max_body"] > 0, r
    pairs = [(r["method"], r["path"]) for r in routes]
    assert len(pairs) == len(set(pairs)), "a route appears twice"
    assert ("POST", "/v1/authn/verify") in pairs and ("GET", "/readyz") in pairs


def test_spec_and_route_table_agree(routes, spec):
    missing, extra, renamed = drift(routes, spec)
    assert not (missing or extra or renamed), drift_message(missing, extra, renamed)


def test_the_check_names_what_drifted(routes, spec):
    """The comparison itself: a route the spec lacks and an operation the
    server lacks are each named, method and path."""
    fake_routes = routes + [{"method": "POST", "path": "/v1/nowhere/{}/retry",
                             "name": "nowhere_retry"}]
    fake_spec = json.loads(json.dumps(spec))
    fake_spec["paths"]["/nowhere/{file}"] = {"get": {"operationId": "web_nowhere"}}
    del fake_spec["paths"]["/v1/authn/verify"]
    missing, extra, renamed = drift(fake_routes, fake_spec)
    msg = drift_message(missing, extra, renamed)
    assert missing == ["POST /v1/authn/verify (route authn_verify)",
                       "POST /v1/nowhere/{}/retry (route nowhere_retry)"], msg
    assert extra == ["GET /nowhere/{file}"], msg
    assert "missing from docs/openapi.yaml" in msg and "not served by guichetd" in msg


def resolve(spec, ref):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"$ref {ref} does not resolve"
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def deref(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(spec, node["$ref"])
    return node


def test_every_ref_resolves(spec):
    found = list(refs(spec))
    assert found
    for ref in found:
        resolve(spec, ref)


def test_path_parameters_are_declared(spec):
    for method, path, op in operations(spec):
        want = set(re.findall(r"\{([^}]*)\}", path))
        have = {deref(spec, p)["name"] for p in op.get("parameters", [])
                if deref(spec, p)["in"] == "path"}
        assert want == have, f"{method} {path}: path parameters {have}, want {want}"
        for p in op.get("parameters", []):
            p = deref(spec, p)
            assert p["in"] in ("path", "query", "header", "cookie"), p
            if p["in"] == "path":
                assert p.get("required") is True, f"{method} {path}: {p['name']} not required"


def test_security_matches_each_route(routes, spec):
    schemes = spec["components"]["securitySchemes"]
    assert {"apiKey", "applicantSession", "adminSession", "csrfToken", "deviceId",
            "deviceTimestamp", "deviceSignature"} <= set(schemes)
    ops = {(m, shape(p)): op for m, p, op in operations(spec)}
    bad = []
    for r in routes:
        op = ops.get((r["method"], shape(r["path"])))
        if op is None:
            continue                  # test_spec_and_route_table_agree names it
        used = set()
        for req in op.get("security", []):
            used |= set(req)
        for name in used:
            assert name in schemes, f"{r['name']}: unknown scheme {name}"
        if r["auth"] == "admin":
            want = {"adminSession"} | ({"csrfToken"} if r["method"] not in ("GET", "HEAD")
                                       else set())
        elif r["auth"] == "none":
            want = used & {"approvalSecret"}      # the approval page's own secret
        else:
            want = AUTH_SCHEMES[r["auth"]]
        if used != want:
            bad.append(f"{r['method']} {r['path']}: security {sorted(used)}, "
                       f"route auth {r['auth']} wants {sorted(want)}")
    assert not bad, "\n".join(bad)


def test_request_bodies_match_each_route(routes, spec):
    ops = {(m, shape(p)): op for m, p, op in operations(spec)}
    bad = []
    for r in routes:
        op = ops.get((r["method"], shape(r["path"])))
        if op is None:
            continue
        body = op.get("requestBody")
        types = set(body["content"]) if body else set()
        want = {"json": {"application/json"}, "raw": {r.get("content_type")},
                "none": set()}[r["body"]]
        if types != want:
            bad.append(f"{r['method']} {r['path']}: request body {sorted(types)}, "
                       f"route reads {sorted(want)}")
    assert not bad, "\n".join(bad)


def test_every_operation_answers_and_errors_use_the_error_schema(spec):
    error = "#/components/schemas/Error"
    for method, path, op in operations(spec):
        codes = set(op.get("responses", {}))
        assert codes and any(c.startswith("2") for c in codes), f"{method} {path}"
        for code, resp in op["responses"].items():
            resp = deref(spec, resp)
            assert resp.get("description"), f"{method} {path} {code}: no description"
            if code[0] in "45":
                schema = resp["content"]["application/json"]["schema"]
                assert schema == {"$ref": error}, f"{method} {path} {code}: not Error"


def schemas(spec):
    """Every schema object in the spec, with where it is."""
    for name, schema in spec["components"]["schemas"].items():
        yield f"components.schemas.{name}", schema
    for name, p in spec["components"]["parameters"].items():
        yield f"components.parameters.{name}", p["schema"]
    for name, r in spec["components"]["responses"].items():
        for ctype, c in r.get("content", {}).items():
            yield f"components.responses.{name} {ctype}", c["schema"]
    for method, path, op in operations(spec):
        for p in op.get("parameters", []):
            if "schema" in p:
                yield f"{method} {path} parameter {p['name']}", p["schema"]
        for ctype, c in op.get("requestBody", {}).get("content", {}).items():
            yield f"{method} {path} request {ctype}", c["schema"]
        for code, r in op["responses"].items():
            for ctype, c in r.get("content", {}).items():
                yield f"{method} {path} {code} {ctype}", c["schema"]


def test_every_schema_is_json_schema_2020_12(spec):
    """OpenAPI 3.1's schemas are JSON Schema 2020-12."""
    seen = 0
    for where, schema in schemas(spec):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            pytest.fail(f"{where}: {e.message}")
        seen += 1
    assert seen > 100


def validate(spec, schema, instance, where):
    """@instance must match @schema, its $refs resolved in @spec."""
    v = jsonschema.Draft202012Validator(schema, resolver=jsonschema.RefResolver("", spec))
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].path)}: {instance}"


def test_the_server_answers_as_described(guichet, spec, api_key):
    """Real requests: each status is one the operation lists, and each JSON
    body matches the schema the spec gives for that status."""
    ops = {(m, shape(p)): op for m, p, op in operations(spec)}

    def check(method, path, resp):
        op = ops[(method, shape(path))]
        assert str(resp.status_code) in op["responses"], \
            f"{method} {path} answered {resp.status_code}, not in the spec: {resp.text[:300]}"
        described = deref(spec, op["responses"][str(resp.status_code)])
        ctype = resp.headers.get("Content-Type", "").split(";")[0]
        if ctype == "application/json":
            assert ctype in described["content"], f"{method} {path}: {ctype} not described"
            validate(spec, described["content"][ctype]["schema"], resp.json(),
                     f"{method} {path} {resp.status_code}")
        return resp

    s = requests.Session()
    r = check("POST", "/v1/enrolments",
              s.post(guichet.url("/v1/enrolments"), json=body_for(applicant()), timeout=30))
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    check("GET", "/v1/enrolments/{id}", s.get(guichet.url(f"/v1/enrolments/{eid}"), timeout=10))
    r = check("POST", "/v1/enrolments/{id}/device-challenge",
              s.post(guichet.url(f"/v1/enrolments/{eid}/device-challenge"), timeout=10))
    assert r.status_code == 201, r.text
    check("GET", "/v1/enrolments/{id}/device-challenge",
          s.get(guichet.url(f"/v1/enrolments/{eid}/device-challenge"), timeout=10))
    check("POST", "/v1/enrolments/{id}/pin",
          s.post(guichet.url(f"/v1/enrolments/{eid}/pin"), json={"pin": "1"}, timeout=10))
    r = check("POST", "/v1/enrolments/{id}/assurance-code",
              s.post(guichet.url(f"/v1/enrolments/{eid}/assurance-code"),
                     json={"code": "10OI5Z"}, timeout=10))
    assert r.status_code == 400 and r.json()["field"] == "code", r.text
    r = check("POST", "/v1/enrolments/{id}/assurance-code",
              s.post(guichet.url(f"/v1/enrolments/{eid}/assurance-code"),
                     json={"code": "k7f2q9"}, timeout=10))
    assert r.status_code == 200, r.text
    check("PUT", "/v1/devices/{id}/assurance-code",
          requests.put(guichet.url("/v1/devices/dev_unknown/assurance-code"),
                       json={"code": "K7F2Q9"}, timeout=10))
    check("GET", "/v1/admin/outbox", requests.get(guichet.url("/v1/admin/outbox"), timeout=10))
    check("POST", "/v1/admin/outbox/{id}/retry",
          requests.post(guichet.url("/v1/admin/outbox/msg_1/retry"), timeout=10))
    check("PUT", "/v1/admin/customers/{id}/assurance-code",
          requests.put(guichet.url("/v1/admin/customers/cus_x/assurance-code"), timeout=10))
    check("GET", "/metrics", requests.get(guichet.url("/metrics"), timeout=10))

    auth = {"Authorization": f"Bearer {api_key}"}
    check("GET", "/healthz", requests.get(guichet.url("/healthz"), timeout=10))
    check("GET", "/readyz", requests.get(guichet.url("/readyz"), timeout=10))
    check("POST", "/v1/authn/verify",
          requests.post(guichet.url("/v1/authn/verify"), json={}, headers=auth, timeout=10))
    check("POST", "/v1/authn/verify",
          requests.post(guichet.url("/v1/authn/verify"), timeout=10,
                        json={"customer_id": "cus_nobody", "pin": "1", "otp": "1"}))
    check("GET", "/v1/transactions/{id}",
          requests.get(guichet.url("/v1/transactions/tx_unknown"), headers=auth, timeout=10))
    check("GET", "/v1/enrolments/{id}",
          requests.get(guichet.url("/v1/enrolments/enr_unknown"), timeout=10))
    check("GET", "/v1/admin/me", requests.get(guichet.url("/v1/admin/me"), timeout=10))
    check("GET", "/v1/approval", requests.get(guichet.url("/v1/approval"), timeout=10))
    check("GET", "/v1/devices/{id}",
          requests.get(guichet.url("/v1/devices/dev_unknown"), timeout=10))
    check("POST", "/v1/devices/activate",
          requests.post(guichet.url("/v1/devices/activate"), json={}, timeout=10))

# SPDX-License-Identifier: AGPL-3.0-or-later
"""The guichetd CLI: one JSON object on stdout per run, the otpauth URI
format (normative in API.md), secrets at rest (Argon2id PIN hash, sealed
seed), PIN policy, keyring creation, and errors as JSON."""
import json
import os
import re
import stat

import pytest

from helpers import parse_otpauth, random_pin, unseal

ID_RE = r"[A-Za-z0-9_-]{22}"


def run_json(guichet, *args):
    r = guichet.cli_run(*args)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        pytest.fail(f"stdout is not one JSON object: {r.stdout!r} (stderr {r.stderr[-500:]!r})")
    assert isinstance(out, dict)
    return r.returncode, out


def test_customer_create_output(guichet, new_customer):
    c = new_customer()
    assert re.fullmatch("cus_" + ID_RE, c.id), c.id
    assert c.uri == (f"otpauth://totp/Guichet:{c.id}?secret={c.secret}"
                     "&issuer=Guichet&algorithm=SHA1&digits=6&period=30"), c.uri
    label, q = parse_otpauth(c.uri)
    assert label == "Guichet:" + c.id
    assert re.fullmatch(r"[A-Z2-7]+", c.secret), "base32, upper case, no padding"
    assert len(c.seed) >= 20, "at least 160 bits"


def test_customer_rows_hold_no_secret_in_clear(guichet, new_customer):
    c = new_customer()
    ref, pin_hash, failed, locked = guichet.sql(
        "SELECT ref, pin_hash, failed_attempts, locked_at FROM customers WHERE id = %s", c.id)[0]
    assert ref == c.ref and failed == 0 and locked is None
    assert pin_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$"), pin_hash
    assert c.pin not in pin_hash
    creds = guichet.sql("SELECT id, kind, otp_type, algorithm, digits, period, seed_sealed, "
                        "counter, state FROM credentials WHERE customer_id = %s", c.id)
    assert len(creds) == 1
    cid, kind, otp_type, alg, digits, period, sealed, counter, st = creds[0]
    assert re.fullmatch("crd_" + ID_RE, cid), cid
    assert (kind, otp_type, alg, digits, period, counter, st) == \
        ("otpauth", "totp", "SHA1", 6, 30, 0, "active")
    sealed = bytes(sealed)
    assert c.seed not in sealed and c.secret.encode() not in sealed
    # the documented envelope, bound to this row
    assert unseal(guichet.keyfile, sealed, "credential:" + cid) == c.seed
    with pytest.raises(Exception):
        unseal(guichet.keyfile, sealed, "credential:crd_someone_else")
    everything = repr(guichet.sql("SELECT * FROM customers")) + repr(guichet.sql("SELECT * FROM credentials"))
    assert c.secret not in everything


@pytest.mark.parametrize("pin", ["123456", "654321", "000000", "111111", "12345", "1234",
                                 "", "12a456", "123456789"])
def test_weak_or_malformed_pin_refused(guichet, pin):
    ref = "weak-" + os.urandom(4).hex()
    rc, out = run_json(guichet, "customer", "create", "--ref", ref, "--pin", pin, "--otpauth")
    assert rc != 0, f"PIN {pin!r} was accepted"
    assert out["error"]["code"] in ("policy_refused", "invalid_field"), out
    assert pin == "" or pin not in json.dumps(out), "the PIN is echoed"
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE ref = %s", ref) == 0


def test_duplicate_ref_refused(guichet, new_customer):
    c = new_customer()
    rc, out = run_json(guichet, "customer", "create", "--ref", c.ref, "--pin", random_pin(),
                       "--otpauth")
    assert rc != 0 and out["error"]["code"] == "conflict", out
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE ref = %s", c.ref) == 1


def test_unlock_output(guichet, new_customer):
    c = new_customer()
    assert guichet.cli("customer", "unlock", "--customer", c.id) == \
        {"customer_id": c.id, "locked": False}


def test_keyring_create(guichet, tmp_path):
    path = tmp_path / "k.key"
    out = guichet.cli("keyring", "create", path)
    assert out["file"] == str(path) and isinstance(out["key_id"], str) and out["key_id"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2
    kid, hexkey = lines[0].split()
    assert kid == out["key_id"] and re.fullmatch(r"[0-9a-f]{64}", hexkey)
    word, tid, tokkey = lines[1].split()         # the token key: its own key
    assert (word, tid) == ("token", out["token_key_id"]) and tokkey != hexkey
    assert re.fullmatch(r"[0-9a-f]{64}", tokkey)
    before = path.read_bytes()
    rc, err = run_json(guichet, "keyring", "create", path)
    assert rc != 0 and "error" in err, "must refuse to overwrite a key file"
    assert path.read_bytes() == before
    assert hexkey not in json.dumps(out) and tokkey not in json.dumps(out)


def test_keyring_add_token_and_serve_needs_one(guichet, tmp_path):
    """A key file made before tokenisation has no token key: serve refuses
    to start until `keyring add-token` gives it one, which becomes current
    ahead of older token keys."""
    path = tmp_path / "old.key"
    path.write_text("k1 " + "ab" * 32 + "\n")
    path.chmod(0o600)
    r = guichet.cli_run("serve", env=guichet.env(GUICHET_MASTER_KEY_FILE=str(path),
                                                 GUICHET_LISTEN="127.0.0.1:1"), timeout=30)
    assert r.returncode != 0 and "add-token" in json.loads(r.stdout)["error"]["message"]
    first = guichet.cli("keyring", "add-token", path)["token_key_id"]
    second = guichet.cli("keyring", "add-token", path)["token_key_id"]
    lines = path.read_text().splitlines()
    assert lines[0] == "k1 " + "ab" * 32
    assert [x.split()[:2] for x in lines[1:]] == [["token", second], ["token", first]]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "old.key.new").exists()


def test_unknown_subcommand(guichet):
    rc, out = run_json(guichet, "frobnicate")
    assert rc != 0 and isinstance(out.get("error"), dict)
    assert {"code", "message"} <= set(out["error"])


def test_missing_option(guichet):
    rc, out = run_json(guichet, "customer", "create", "--ref", "no-pin", "--otpauth")
    assert rc != 0 and isinstance(out.get("error"), dict)


def _create_with_stdin(guichet, ref, stdin):
    import subprocess
    from harness import GUICHETD
    r = subprocess.run([str(GUICHETD), "customer", "create", "--ref", ref, "--pin", "-",
                        "--otpauth"], input=stdin, env=guichet.server.env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return r.returncode, json.loads(r.stdout)


def test_pin_from_standard_input(guichet, http):
    """`--pin -`: the PIN comes from standard input, so it shows in no
    process list and no shell history; the customer verifies with it."""
    from helpers import totp_at, wait_fresh_step
    pin = random_pin()
    ref = "stdin-" + os.urandom(4).hex()
    rc, out = _create_with_stdin(guichet, ref, pin + "\n")
    assert rc == 0, out
    secret = parse_otpauth(out["otpauth_uri"])[1]["secret"]
    t = wait_fresh_step()
    r = http.verify_otp(out["customer_id"], pin, totp_at(secret, t))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("stdin", ["", "\n", "4" * 200 + "\n"])
def test_pin_from_standard_input_refused(guichet, stdin):
    ref = "stdin-bad-" + os.urandom(4).hex()
    rc, out = _create_with_stdin(guichet, ref, stdin)
    assert rc != 0 and out["error"]["code"] == "bad_request", out
    assert "4444" not in json.dumps(out)
    assert guichet.sql_value("SELECT count(*) FROM customers WHERE ref = %s", ref) == 0

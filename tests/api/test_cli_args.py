# SPDX-License-Identifier: AGPL-3.0-or-later
"""guichetd's command line refuses what it does not know: every command,
given an unknown option, a stray argument, an option twice or an option
without its value, stops with a JSON error naming the word and a non-zero
exit, and does nothing -- the row, key file or listener it would have made
is not there.  Each case is paired with the same command spelt right, so
a test cannot pass because the command fails for another reason."""
import json
import os
import re
import secrets
import socket

import pytest

import pskcfile
from harness import free_port
from helpers import random_pin


def refused(guichet, *args, word, env=None):
    """Run guichetd ARGS: it must fail with bad_request naming @word."""
    r = guichet.cli_run(*args, env=env, timeout=30)
    assert r.returncode != 0, f"guichetd {args} succeeded: {r.stdout}"
    out = json.loads(r.stdout)
    assert set(out) == {"error"}, out
    assert out["error"]["code"] == "bad_request", out
    assert word in out["error"]["message"], out
    assert "usage" in out["error"]["message"] or "command" in out["error"]["message"], out
    return out["error"]["message"]


def count(guichet, sql, *params):
    return guichet.sql_value(sql, *params)


# ------------------------------------------------------------ apikey

def test_apikey_create_unknown_option(guichet):
    name = "typo-" + secrets.token_hex(4)
    msg = refused(guichet, "apikey", "create", "--name", name, "--bogus", "y", word="--bogus")
    assert "unknown option" in msg
    refused(guichet, "apikey", "create", "--name", name, "--orgin", "https://a.example",
            word="--orgin")
    refused(guichet, "apikey", "create", "--name", name, "stray", word='"stray"')
    refused(guichet, "apikey", "create", "--name", name, "--name", name + "x", word="given twice")
    refused(guichet, "apikey", "create", "--name", "--origin", "https://a.example",
            word="--name needs a value")
    assert count(guichet, "SELECT count(*) FROM api_keys WHERE name LIKE %s", name + "%") == 0
    out = guichet.cli("apikey", "create", "--name", name)
    assert out["name"] == name and out["key"]
    guichet.secrets.add(out["key"])
    assert count(guichet, "SELECT count(*) FROM api_keys WHERE name = %s", name) == 1


def test_apikey_unknown_subcommand(guichet):
    before = count(guichet, "SELECT count(*) FROM api_keys")
    msg = refused(guichet, "apikey", "craete", "--name", "x", word='"craete"')
    assert "create|webhook" in msg, "names the subcommands there are"
    refused(guichet, "apikey", word="missing subcommand")
    assert count(guichet, "SELECT count(*) FROM api_keys") == before


def test_apikey_create_webhook_typo_makes_no_key(guichet):
    """--webhook is known to apikey create; a misspelling of it, the option
    twice or without its URL stops the command before a key is made."""
    name = "typo-hook-" + secrets.token_hex(4)
    url = "https://hooks.example.org/guichet"
    msg = refused(guichet, "apikey", "create", "--name", name, "--webhok", url,
                  word="--webhok")
    assert "--webhook" in msg, "the usage names the option there is"
    refused(guichet, "apikey", "create", "--name", name, "--webhook", url,
            "--webhook", url, word="--webhook given twice")
    refused(guichet, "apikey", "create", "--name", name, "--webhook", "--origin",
            "https://a.example", word="--webhook needs a value")
    refused(guichet, "apikey", "create", "--name", name, "--webhook", word="--webhook needs a value")
    refused(guichet, "apikey", "create", "--name", name, "--url", url, word="--url")
    assert count(guichet, "SELECT count(*) FROM api_keys WHERE name = %s", name) == 0
    out = guichet.cli("apikey", "create", "--name", name, "--webhook", url)
    guichet.secrets.update({out["key"], out["webhook_secret"]})
    assert out["webhook_url"] == url
    assert count(guichet, "SELECT count(*) FROM webhook_endpoints w JOIN api_keys k "
                 "ON k.id = w.api_key_id WHERE k.name = %s", name) == 1


def test_apikey_webhook_typo_changes_nothing(guichet):
    """apikey webhook: a misspelt --url or --remove, a stray word, an option
    twice, or --webhook (create's spelling) stops it; the endpoint and its
    secret stay as they were."""
    name = "typo-hook-" + secrets.token_hex(4)
    url = "https://hooks.example.org/first"
    out = guichet.cli("apikey", "create", "--name", name, "--webhook", url)
    guichet.secrets.update({out["key"], out["webhook_secret"]})
    sql = ("SELECT w.url || encode(w.secret_sealed, 'hex') FROM webhook_endpoints w "
           "JOIN api_keys k ON k.id = w.api_key_id WHERE k.name = %s")
    before = count(guichet, sql, name)
    other = "https://hooks.example.org/second"
    refused(guichet, "apikey", "webhook", "--name", name, "--ulr", other, word="--ulr")
    refused(guichet, "apikey", "webhook", "--name", name, "--webhook", other,
            word="--webhook")
    refused(guichet, "apikey", "webhook", "--name", name, "--rmove", word="--rmove")
    refused(guichet, "apikey", "webhook", "--name", name, "--remove", "--remove",
            word="--remove given twice")
    refused(guichet, "apikey", "webhook", "--name", name, "--remove", "now", word='"now"')
    refused(guichet, "apikey", "webhook", "--name", name, "--url", "--remove",
            word="--url needs a value")
    refused(guichet, "apikey", "webhook", "--name", name, "--origin", "https://a.example",
            word="--origin")
    assert count(guichet, sql, name) == before
    again = guichet.cli("apikey", "webhook", "--name", name, "--url", other)
    guichet.secrets.add(again["webhook_secret"])
    assert count(guichet, sql, name).startswith(other)
    assert guichet.cli("apikey", "webhook", "--name", name, "--remove")["webhook"] is False
    assert count(guichet, sql, name) is None


# ------------------------------------------------------------ customer

def test_customer_create_unknown_option(guichet):
    ref = "typo-" + secrets.token_hex(4)
    pin = random_pin()
    guichet.secrets.add(pin)
    refused(guichet, "customer", "create", "--ref", ref, "--pin", pin, "--otpauth",
            "--totp", word="--totp")
    refused(guichet, "customer", "create", "--ref", ref, "--pin", pin, "--otpauth", "now",
            word='"now"')
    refused(guichet, "customer", "create", "--ref", ref, "--pin", pin, "--otpauth",
            "--otpauth", word="--otpauth given twice")
    assert count(guichet, "SELECT count(*) FROM customers WHERE ref = %s", ref) == 0
    out = guichet.cli("customer", "create", "--ref", ref, "--pin", pin, "--otpauth")
    guichet.secrets.add(out["otpauth_uri"])
    assert count(guichet, "SELECT count(*) FROM customers WHERE ref = %s", ref) == 1


def test_customer_unlock_unknown_option(guichet, new_customer):
    c = new_customer()
    guichet.sql("UPDATE customers SET locked_at = now(), failed_attempts = 5 WHERE id = %s", c.id)
    refused(guichet, "customer", "unlock", "--customer", c.id, "--force", word="--force")
    refused(guichet, "customer", "unlock", "--customer", c.id, c.id, word="unexpected argument")
    refused(guichet, "customer", "unlock", "--customer", word="--customer needs a value")
    assert count(guichet, "SELECT locked_at IS NOT NULL FROM customers WHERE id = %s", c.id)
    assert guichet.cli("customer", "unlock", "--customer", c.id)["locked"] is False
    assert not count(guichet, "SELECT locked_at IS NOT NULL FROM customers WHERE id = %s", c.id)


# ------------------------------------------------------------ keyring

def test_keyring_create_stray_argument(guichet, tmp_path):
    path = tmp_path / "k.key"
    refused(guichet, "keyring", "create", path, "--force", word="--force")
    refused(guichet, "keyring", "create", path, tmp_path / "other.key", word="unexpected argument")
    refused(guichet, "keyring", "create", word="missing argument")
    assert list(tmp_path.iterdir()) == [], "no key file was made"
    assert guichet.cli("keyring", "create", path)["file"] == str(path)
    assert path.is_file()


def test_keyring_add_token_stray_argument(guichet, tmp_path):
    path = tmp_path / "k.key"
    guichet.cli("keyring", "create", path)
    before = path.read_bytes()
    refused(guichet, "keyring", "add-token", path, "--now", word="--now")
    refused(guichet, "keyring", "add-token", path, "again", word='"again"')
    assert path.read_bytes() == before
    guichet.cli("keyring", "add-token", path)
    assert path.read_bytes() != before


# ------------------------------------------------------------ tokens

def test_tokens_import_unknown_option(guichet, tmp_path):
    serial = "TYPO" + secrets.token_hex(4).upper()
    secret = secrets.token_bytes(20)
    guichet.secrets.update({secret.hex(), pskcfile.b64(secret)})
    path = tmp_path / "one.pskc"
    path.write_bytes(pskcfile.build([pskcfile.Token(serial=serial, secret=secret)]))
    refused(guichet, "tokens", "import", path, "--partal", word="--partal")
    refused(guichet, "tokens", "import", path, path, word="unexpected argument")
    refused(guichet, "tokens", "import", path, "--key", word="--key needs a value")
    refused(guichet, "tokens", "import", path, "--partial", "--partial", word="given twice")
    assert count(guichet, "SELECT count(*) FROM hw_tokens WHERE serial = %s", serial) == 0
    assert guichet.cli("tokens", "import", path)["imported"] == 1
    assert count(guichet, "SELECT count(*) FROM hw_tokens WHERE serial = %s", serial) == 1


def test_tokens_list_unknown_option(guichet):
    refused(guichet, "tokens", "list", "--status", "in_stock", word="--status")
    refused(guichet, "tokens", "list", "in_stock", word='"in_stock"')
    assert "tokens" in guichet.cli("tokens", "list", "--state", "in_stock")


# ------------------------------------------------------------ admin and audit

def test_admin_create_unknown_option(guichet):
    user = "typo-" + secrets.token_hex(4)
    refused(guichet, "admin", "create", "--username", user, "--role", "admin", "--mfa", "off",
            word="--mfa")
    refused(guichet, "admin", "create", "--username", user, "--role", "admin", "root",
            word='"root"')
    assert count(guichet, "SELECT count(*) FROM admins WHERE username = %s", user) == 0
    out = guichet.cli("admin", "create", "--username", user, "--role", "reviewer")
    guichet.secrets.update({out["password"], out["otpauth_uri"]})
    assert count(guichet, "SELECT count(*) FROM admins WHERE username = %s", user) == 1


def test_admin_passwd_and_unlock_unknown_option(guichet):
    user = "typo-" + secrets.token_hex(4)
    out = guichet.cli("admin", "create", "--username", user, "--role", "reviewer")
    guichet.secrets.update({out["password"], out["otpauth_uri"]})
    hash_before = count(guichet, "SELECT password_hash FROM admins WHERE username = %s", user)
    refused(guichet, "admin", "passwd", "--username", user, "--password", "x", word="--password")
    refused(guichet, "admin", "passwd", "--username", user, "extra", word='"extra"')
    refused(guichet, "admin", "unlock", "--username", user, "--all", word="--all")
    refused(guichet, "admin", "unlock", "--user", user, word="--user")
    refused(guichet, "admin", "delete", "--username", user, word='"delete"')
    assert count(guichet, "SELECT password_hash FROM admins WHERE username = %s", user) == hash_before
    new = guichet.cli("admin", "passwd", "--username", user)["password"]
    guichet.secrets.add(new)
    assert count(guichet, "SELECT password_hash FROM admins WHERE username = %s", user) != hash_before


def test_audit_verify_unknown_option(guichet):
    refused(guichet, "audit", "verify", "--from", "1", word="--from")
    refused(guichet, "audit", "verify", "all", word='"all"')
    assert guichet.cli("audit", "verify")["ok"] is True


def test_tx_evidence_stray_argument(guichet):
    refused(guichet, "tx", "evidence", "tx_a", "tx_b", word='"tx_b"')
    refused(guichet, "tx", "evidence", "tx_a", "--pem", word="--pem")
    refused(guichet, "tx", "evidence", word="missing argument")
    # spelt right, the command runs (and finds no such transaction)
    r = guichet.cli_run("tx", "evidence", "tx_" + "C" * 22)
    assert r.returncode != 0 and json.loads(r.stdout)["error"]["code"] == "not_found"


# ------------------------------------------------------------ one-word commands

def test_migrate_purge_routes_stray_argument(guichet):
    applied = count(guichet, "SELECT count(*) FROM schema_migrations")
    refused(guichet, "migrate", "--dry-run", word="--dry-run")
    refused(guichet, "migrate", "0042", word='"0042"')
    refused(guichet, "purge", "--all", word="--all")
    refused(guichet, "purge", "now", word='"now"')
    refused(guichet, "routes", "--yaml", word="--yaml")
    assert count(guichet, "SELECT count(*) FROM schema_migrations") == applied
    assert guichet.cli("migrate")["applied"] == 0
    assert "purged" in guichet.cli("purge")
    assert guichet.cli("routes")["routes"]


def test_serve_unknown_option_does_not_listen(guichet):
    port = free_port()
    env = guichet.env(GUICHET_LISTEN=f"127.0.0.1:{port}")
    refused(guichet, "serve", "--port", str(port), word="--port", env=env)
    refused(guichet, "serve", "now", word='"now"', env=env)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something listens"


def test_unknown_command(guichet):
    refused(guichet, "apikeys", "create", "--name", "x", word='"apikeys"')


def test_config_before_command_still_works(guichet, tmp_path):
    """--config FILE stays a global option before the command."""
    conf = tmp_path / "g.conf"
    conf.write_text("log_level = warn\n")
    assert guichet.cli("--config", conf, "routes")["routes"]
    refused(guichet, "--config", conf, "routes", "--config", conf, word="--config")


def test_every_command_is_covered():
    """The commands --help lists are the ones tested here."""
    here = open(__file__).read()
    usage = os.popen(f"{guichetd()} --help 2>&1").read()
    words = {line.split()[0] for line in usage.splitlines()[1:]
             if re.match(r"  [a-z]", line)}
    assert words >= {"serve", "migrate", "keyring", "apikey", "customer", "tokens",
                     "admin", "audit", "purge", "tx", "routes"}, words
    for w in words:
        assert f'"{w}"' in here, f"no test runs guichetd {w}"


def guichetd():
    from harness import GUICHETD
    return GUICHETD

#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""seeds.py -- writes the seed corpora in tests/fuzz/corpus/<harness>/.

The seeds are committed; this script is how they were made, so a new seed
is added here and the script re-run (it rewrites every file it owns and
removes none).  MRZs come from tests/api/mrz.py (an independent check-digit
implementation), PSKC files from tests/api/pskcfile.py (Python's
`cryptography`), signatures and proofs from `cryptography` with API.md's
test-vector keys.  Dates are fixed: the harnesses take 2025-06-15 as today
and 1750000000 as now.  Nothing here comes from ../shared.

    /usr/bin/python3 tests/fuzz/seeds.py
"""
import base64
import datetime
import hashlib
import hmac
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "api"))

import mrz  # noqa: E402
import pskcfile  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

CORPUS = HERE / "corpus"
D = datetime.date


def write(harness, name, data):
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ------------------------------------------------------------------ MRZ

def cd(s):
    return mrz.check_digit(s)


def td2(surname, given, birth, expiry, docnum, nationality="UTO", issuing="UTO",
        sex="F", optional="", code="I<"):
    """A TD2 MRZ (2 x 36); a document number over 9 characters overflows
    into the optional data (ICAO 9303 part 6)."""
    name = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<"))
    line1 = (code + issuing + name).ljust(36, "<")[:36]
    if len(docnum) > 9:
        doc, doc_cd = docnum[:9], "<"
        optional = (docnum[9:] + cd(docnum) + "<" + optional)
    else:
        doc = docnum.ljust(9, "<")
        doc_cd = cd(doc)
    opt = optional.ljust(7, "<")[:7]
    b, e = mrz.yymmdd(birth), mrz.yymmdd(expiry)
    line2 = doc + doc_cd + nationality + b + cd(b) + sex + e + cd(e) + opt
    composite = doc + doc_cd + b + cd(b) + e + cd(e) + opt
    line2 += cd(composite)
    assert len(line1) == 36 and len(line2) == 36, (line1, line2)
    return line1 + "\n" + line2


def td1_overflow(surname, given, birth, expiry, docnum):
    """TD1 with a 12-character document number (overflow into line 1's
    optional data)."""
    doc = docnum[:9]
    opt = (docnum[9:] + cd(docnum) + "<").ljust(15, "<")
    line1 = "I<UTO" + doc + "<" + opt
    b, e = mrz.yymmdd(birth), mrz.yymmdd(expiry)
    line2 = (b + cd(b) + "M" + e + cd(e) + "UTO").ljust(29, "<")
    line2 += cd(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    line3 = (surname + "<<" + given.replace(" ", "<")).ljust(30, "<")[:30]
    return "\n".join((line1, line2, line3))


def cni(surname, given, birth, number="880692310285", office="920301", sex="F"):
    """The French identity card 1988-2021 (2 x 36)."""
    line1 = ("IDFRA" + surname.replace(" ", "<")).ljust(30, "<")[:30] + office
    b = mrz.yymmdd(birth)
    line2 = (number + cd(number) + given.replace(" ", "<").ljust(14, "<")[:14]
             + b + cd(b) + sex)
    line2 += cd(line1 + line2)
    assert len(line1) == 36 and len(line2) == 36, (line1, line2)
    return line1 + "\n" + line2


def mrz_seeds():
    born, expires = D(1974, 8, 12), D(2030, 1, 1)
    icao = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
    write("mrz", "td3-icao-specimen", icao)
    write("mrz", "td3-icao-specimen-declared",
          icao + "|ERIKSSON|ANNA MARIA|1974-08-12|UTO")
    write("mrz", "td3-crlf-trailing", icao.replace("\n", "\r\n") + "  \r\n")
    td3 = mrz.td3("MUELLER", "JUERGEN", born, expires, nationality="D<<", issuing="D<<",
                  sex="M", docnum="C01X00T47", personal="ZE184226B")
    write("mrz", "td3-umlaut-declared", td3 + "|Müller|Jürgen|1974-08-12|D<<")
    write("mrz", "td3-long-name",
          mrz.td3("WOLFESCHLEGELSTEINHAUSENBERGERDORFF", "HUBERT BLAINE",
                  born, expires, docnum="X12345678")
          + "|Wolfeschlegelsteinhausenbergerdorff|Hubert Blaine|1974-08-12|FRA")
    write("mrz", "td3-minor",
          mrz.td3("PETIT", "LOU", D(2012, 3, 1), expires, docnum="12AB34567"))
    write("mrz", "td1",
          mrz.td1("DUPONT", "JEAN PIERRE", born, expires, docnum="AB1234567")
          + "|Dupont|Jean-Pierre|1974-08-12|FRA")
    write("mrz", "td1-overflow", td1_overflow("SMITH", "JOHN", born, expires,
                                              "D23145890734"))
    write("mrz", "td2", td2("NOVAK", "EVA", born, expires, "PX1234567")
          + "|Novák|Éva|1974-08-12|UTO")
    write("mrz", "td2-overflow", td2("NOVAK", "EVA", born, expires, "PX123456789"))
    write("mrz", "cni", cni("BERTHIER", "CORINNE", D(1965, 12, 6))
          + "|Berthier|Corinne|1965-12-06|FRA")
    write("mrz", "td3-bad-check-digit", icao[:-1] + "9")
    write("mrz", "td3-lowercase", icao.lower())
    write("mrz", "declared-cyrillic",
          mrz.td3("IVANOV", "SERGEI", born, expires, docnum="751234567")
          + "|Иванов|Сергей|1974-08-12|RUS")
    write("mrz", "declared-greek-cjk",
          mrz.td3("PAPADOPOULOS", "NIKOS", born, expires, docnum="AE0000001")
          + "|Παπαδόπουλος|山田 太郎|1974-08-12|GRC")
    write("mrz", "declared-punctuation",
          mrz.td3("ABBAS", "ABU", born, expires, docnum="K00000001")
          + "|A.B.B.A.S|A.B.U|1974-08-12|UTO")
    write("mrz", "declared-apostrophe-ligature",
          mrz.td3("OBRIEN", "SOEREN", born, expires, docnum="IE1234567")
          + "|O'Brien|Søren Œdipe ß Þór|1974-08-12|IRL")
    write("mrz", "declared-invalid-utf8",
          b"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
          b"L898902C36UTO7408122F1204159ZE184226B<<<<<10|ERIK\xc3SSON|\xff\xfe|1974-8-12|")


# ----------------------------------------------------------------- JSON

ENROL = {"applicant": {"given_names": "ANNA MARIA", "surname": "ERIKSSON",
                       "birth_date": "1974-08-12", "nationality": "UTO",
                       "residence_country": "FRA", "email": "anna@example.org",
                       "phone": "+33612345678"},
         "document": {"mrz": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
                             "L898902C36UTO7408122F1204159ZE184226B<<<<<10"}}
DEVICE = {"platform": "android", "os_version": "14", "model": "Pixel 8",
          "app_version": "1.0.0", "install_id": "0f3c9a7d2b1e4c58", "rooted": False,
          "emulator": False, "debugger": False, "hooking": False,
          "sim_country": "FR", "locale": "fr-FR", "timezone": "Europe/Paris"}

# API.md's test vectors
SIGN_D = 0x25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d
ECDH_D = 0x297d2848ca9a76b593abb507429bb0837d8dde868560061319c9e63470bd7ee9
SECRET = bytes(range(16))


def key(d):
    return ec.derive_private_key(d, ec.SECP256R1())


def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.X962,
                                       serialization.PublicFormat.UncompressedPoint)


def activation(cid="ch_test_0001", device=None):
    sk, ek = key(SIGN_D), key(ECDH_D)
    m = b"guichet-activate-v1\x00" + cid.encode() + b"\x00" + pub(sk) + pub(ek)
    return {"challenge_id": cid, "device_public_key": b64u(pub(sk)),
            "ecdh_public_key": b64u(pub(ek)),
            "proof": b64u(hmac.new(SECRET, m, hashlib.sha256).digest()),
            "signature": b64u(sk.sign(m, ec.ECDSA(hashes.SHA256()))),
            "device": DEVICE if device is None else device}


def j(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def json_seeds():
    write("json", "enrolment", j(ENROL))
    write("json", "enrolment-unknown-field",
          j(dict(ENROL, applicant=dict(ENROL["applicant"], middle_name="X"))))
    write("json", "activation", j(activation()))
    write("json", "generic", '{"r":"x","s":"abc","i":3,"u":-9007199254740993,'
                             '"b":true,"o":{"r":"y","i":-5},"a":[1,2.5,null,"z"]}')
    write("json", "generic-null-optional", '{"r":"","s":null,"i":null,"b":false}')
    write("json", "duplicate-key", '{"r":"a","r":"b"}')
    write("json", "escapes", '{"r":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\","s":"\\u0000"}')
    write("json", "not-object", '[{"r":"x"}]')
    write("json", "numbers", '{"r":"n","i":5,"u":1e308,"o":{"u":-0,"i":-6}}')
    write("json", "deep", '{"o":' * 40 + '{}' + '}' * 40)


# ------------------------------------------------------- activation body

def activate_body_seeds():
    body = activation()
    write("activate_body", "valid-signed", b"\x00" + j(body).encode())
    write("activate_body", "phone-plays-all", b"\x07" + j(body).encode())
    write("activate_body", "phone-proof-only", b"\x01" + j(body).encode())
    write("activate_body", "minimal-device",
          b"\x03" + j(dict(body, device={k: DEVICE[k] for k in (
              "platform", "os_version", "model", "app_version", "install_id",
              "rooted", "emulator", "debugger", "hooking")})).encode())
    bad = dict(body, device=dict(DEVICE, rooted="no", extra=1))
    write("activate_body", "device-bad-type", b"\x07" + j(bad).encode())
    write("activate_body", "compressed-key",
          b"\x01" + j(dict(body, ecdh_public_key=b64u(b"\x02" + pub(key(ECDH_D))[1:33])))
          .encode())
    off = bytearray(pub(key(ECDH_D)))
    off[64] ^= 1
    write("activate_body", "off-curve-key",
          b"\x03" + j(dict(body, ecdh_public_key=b64u(bytes(off)))).encode())
    write("activate_body", "short-signature",
          b"\x00" + j(dict(body, signature="MAYCAQECAQE")).encode())
    write("activate_body", "bad-base64",
          b"\x00" + j(dict(body, proof="not base64!", challenge_id="ch_\u00e9")).encode())


# ------------------------------------------------------- device request

def device_request_seeds():
    sk = key(SIGN_D)

    def req(flags, method, path, ts, body, sign=True, sig=None):
        msg = f"{method}\n{path}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
        if sign and sig is None:
            sig = b64u(sk.sign(msg, ec.ECDSA(hashes.SHA256())))
        return (bytes([flags]) + b"\0".join([b"dev_test_0001", method.encode(),
                                             path.encode(), ts.encode(),
                                             (sig or "").encode(), body]))

    path = "/v1/devices/dev_test_0001/transactions"
    write("device_request", "get-signed", req(0, "GET", path, "1750000000", b""))
    write("device_request", "post-signed",
          req(0, "POST", "/v1/transactions/tx_test_0001/approve", "1750000060",
              b'{"signature":"MEUCIQ"}'))
    write("device_request", "phone-signs", req(1, "POST", "/v1/transactions/t/decline",
                                               "1749999881", b"", sign=False))
    write("device_request", "skew", req(0, "GET", path, "1750000121", b""))
    write("device_request", "timestamp-forms",
          req(1, "GET", path, " +1750000000", b"", sign=False))
    write("device_request", "newline-in-path",
          req(1, "GET", path + "\nGET", "1750000000", b"", sign=False))
    write("device_request", "binary-body",
          req(0, "PUT", "/v1/devices/dev_test_0001/assurance-code", "1750000000",
              bytes(range(256))))
    write("device_request", "garbage-signature",
          req(0, "GET", path, "1750000000", b"", sig="MEQCIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))


# -------------------------------------------------------------- QR codes

def qr_seeds():
    s = b64u(SECRET)
    base = "guichet://activate?v=1&u=https%3A%2F%2Fbank.example%2F&c=ch_test_0001&s=" + s
    write("qr_activate", "api-example", base)
    write("qr_activate", "http-port-path",
          f"guichet://activate?v=1&u=http%3A%2F%2F127.0.0.1%3A8080%2Fguichet%2F%2F&c=ch+1&s={s}")
    write("qr_activate", "unknown-param-order",
          f"guichet://activate?s={s}&x=1&c=ch_test_0001&u=https://bank.example&v=1")
    write("qr_activate", "version-2", base.replace("v=1", "v=2"))
    write("qr_activate", "duplicate-c", base + "&c=other")
    write("qr_activate", "fragment", base + "#frag")
    write("qr_activate", "bad-percent", base.replace("%3A", "%3"))
    write("qr_activate", "nul-escape", base.replace("ch_test_0001", "ch%00x"))
    write("qr_activate", "long-secret", base + "AA")
    # found by fuzz_qr_activate: no host; the trailing-'/' trim left "http:"
    write("qr_activate", "regress-no-host",
          f"guichet://activate?v=1&u=http%3A%2F%2F%2F&c=c01h+1&s={s}")

    tx = ("guichet://tx?v=1&id=tx_test_0001&a=125.00&c=EUR&n=ACME+SARL"
          "&i=FR7630006000011234567890189&x=n0nce")
    write("qr_tx", "api-example", tx)
    write("qr_tx", "utf8-payee", tx.replace("ACME+SARL", "Caf%C3%A9+M%C3%BCller+%E5%B1%B1%E7%94%B0"))
    write("qr_tx", "newline-payee", tx.replace("ACME+SARL", "ACME%0AEUR"))
    write("qr_tx", "bidi-payee", tx.replace("ACME+SARL", "%E2%80%AEACME"))
    write("qr_tx", "jpy", tx.replace("125.00", "125").replace("EUR", "JPY"))
    write("qr_tx", "bad-amount", tx.replace("125.00", "1.2.3"))
    write("qr_tx", "missing-nonce", tx.replace("&x=n0nce", ""))
    write("qr_tx", "empty-value", tx.replace("id=tx_test_0001", "id="))


# ----------------------------------------------------------------- PSKC

def pskc_seeds():
    T = pskcfile.Token
    plain = pskcfile.build([
        T("FUZZ0001", bytes(range(20)), counter=7),
        T("FUZZ0002", bytes(range(32)), type="totp", period=60, drift=-2,
          suite="HMAC-SHA256", digits=8, start="2024-01-01T00:00:00Z",
          expiry="2030-12-31T23:59:59+01:00"),
        T("FUZZ0001", bytes(range(20)), counter=1),          # duplicate in file
        T("SHORT", b"short"),
        T(None, bytes(range(20))),
    ])
    write("pskc", "plain", b"\x00" + plain)
    key16, key32 = bytes(range(16)), bytes(range(32))
    write("pskc", "aes128-key", b"\x01" + pskcfile.build(
        [T("ENC00001", bytes(range(20))), T("ENC00002", bytes(range(32)), type="totp")],
        key=key16))
    write("pskc", "aes256-sha256-key", b"\x02" + pskcfile.build(
        [T("ENC00003", bytes(range(64)), counter=3)], key=key32,
        cipher="aes256-cbc", mac="hmac-sha256"))
    write("pskc", "aes128-key-tampered", b"\x01" + pskcfile.build(
        [T("ENC00004", bytes(range(20))), T("ENC00005", bytes(range(20)))],
        key=key16, tamper={1: "mac"}))
    write("pskc", "pbkdf2", b"\x03" + pskcfile.build(
        [T("PBK00001", bytes(range(20)))], password="guichet-fuzz", iterations=100,
        cipher="aes256-cbc", prf="hmac-sha256"))
    write("pskc", "pbkdf2-wrong-password", b"\x03" + pskcfile.build(
        [T("PBK00002", bytes(range(20)))], password="other", iterations=10))
    write("pskc", "doctype-entity", b"\x00" + b"""<?xml version="1.0"?>
<!DOCTYPE KeyContainer [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY y "&x;&x;">]>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">&y;</KeyContainer>
""")
    write("pskc", "not-pskc", b"\x00<KeyContainer Version=\"2.0\" xmlns=\"urn:other\"/>")
    write("pskc", "odd-values", b"\x00" + b"""<?xml version="1.0"?>
<p:KeyContainer Version="1.0" xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc">
<p:KeyPackage><p:DeviceInfo><p:Manufacturer/><p:SerialNo> S 1 </p:SerialNo>
<p:SerialNo>again</p:SerialNo></p:DeviceInfo>
<p:Key Algorithm="urn:ietf:params:xml:ns:keyprov:pskc#totp"><p:AlgorithmParameters>
<p:Suite>hmac-sha-512</p:Suite><p:ResponseFormat Length="7" Encoding="HEXADECIMAL"/>
</p:AlgorithmParameters><p:Data><p:Secret><p:PlainValue>AAEC AwQF
BgcICQoLDA0ODxAREhM=</p:PlainValue></p:Secret>
<p:Counter><p:PlainValue>-1</p:PlainValue></p:Counter>
<p:TimeInterval><p:PlainValue>0</p:PlainValue></p:TimeInterval></p:Data>
<p:Policy><p:StartDate>2024-02-30T25:00:00.123-14:00</p:StartDate>
<p:ExpiryDate>2025-01-01T00:00:00Z</p:ExpiryDate></p:Policy></p:Key></p:KeyPackage>
<p:KeyPackage/>
</p:KeyContainer>
""")
    # written containers: 0x80, then cipher, mac, flags, param, MAC key length,
    # secret length + secret, counter length + counter, serial
    def written(ci, mi, flags, param, mkl, secret, counter, serial):
        return (bytes([0x80, ci, mi, flags, param, mkl, len(secret)]) + secret
                + bytes([len(counter) - 1]) + counter + serial)
    write("pskc", "written-aes128-sha1", written(0, 0, 0, 0, 19, bytes(range(20)),
                                                 b"\x05", b"W0001"))
    write("pskc", "written-pbkdf2-totp-counter",
          written(2, 2, 8 | 4 | 2, 9, 31, bytes(range(32)), b"\x00\x00\x00\x02", b"W0002"))
    write("pskc", "written-totp-drift-too-big",
          written(0, 0, 4 | 2, 0, 20, bytes(range(20)), b"\xff\xff\xff\xfe", b"W0006"))
    write("pskc", "written-raw-good-padding",
          written(0, 2, 1, 0, 32, bytes(range(47)) + b"\x10", b"\x00", b"W0007"))
    write("pskc", "written-raw-padding", written(1, 4, 1, 0, 63, bytes(range(48)),
                                                 b"\x00", b"W0003"))
    write("pskc", "written-duplicate-badmac",
          written(0, 3, 16 | 32, 0, 47, bytes(range(24)), b"\x01" * 9, b"W0004"))
    write("pskc", "written-raw-mackey", written(2, 1, 64 | 2, 0, 16, bytes(range(16)),
                                                b"\x80" + b"\x00" * 7, b"W0005"))


def main():
    mrz_seeds()
    json_seeds()
    activate_body_seeds()
    device_request_seeds()
    qr_seeds()
    pskc_seeds()


if __name__ == "__main__":
    main()

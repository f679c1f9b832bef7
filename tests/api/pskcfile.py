# SPDX-License-Identifier: AGPL-3.0-or-later
"""pskcfile -- writes RFC 6030 PSKC containers for the tests and the bench,
with Python's `cryptography` (independent of Guichet's C reader):

- plain secrets (PlainValue, base64),
- secrets encrypted under a pre-shared AES key (xmlenc#aes128-cbc,
  aes192-cbc or aes256-cbc, random IV prepended, PKCS #7 padding), each
  with a ValueMAC = HMAC(MAC key, IV || ciphertext) and the MAC key itself
  encrypted under the same key (RFC 6030 §6.1.1),
- or under a key derived from a password with PBKDF2 (RFC 6030 §6.2).

`tamper` changes one thing after the fact so that a test can check the
refusal: "mac" flips a bit of a ValueMAC, "cipher" a bit of a ciphertext.
"""
import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NS = "urn:ietf:params:xml:ns:keyprov:pskc"
ALG = {"hotp": "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
       "totp": "urn:ietf:params:xml:ns:keyprov:pskc:totp"}
XENC = "http://www.w3.org/2001/04/xmlenc#"
CIPHER_KEY_LEN = {"aes128-cbc": 16, "aes192-cbc": 24, "aes256-cbc": 32}
MAC = {"hmac-sha1": ("http://www.w3.org/2000/09/xmldsig#hmac-sha1", hashlib.sha1),
       "hmac-sha256": ("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
                       hashlib.sha256)}
PBKDF2 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"


@dataclass
class Token:
    serial: str
    secret: bytes
    type: str = "hotp"
    manufacturer: Optional[str] = "Guichet Test"
    digits: int = 6
    counter: Optional[int] = None
    period: Optional[int] = None
    drift: Optional[int] = None
    suite: Optional[str] = None          # e.g. "HMAC-SHA256"
    start: Optional[str] = None          # xs:dateTime
    expiry: Optional[str] = None


def b64(b):
    return base64.b64encode(b).decode()


def encrypt(key, plain, cipher="aes128-cbc"):
    """IV || AES-CBC(key, PKCS#7(plain))."""
    assert len(key) == CIPHER_KEY_LEN[cipher]
    iv = os.urandom(16)
    p = padding.PKCS7(128).padder()
    data = p.update(plain) + p.finalize()
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + e.update(data) + e.finalize()


def _encrypted(tag, data, cipher):
    return (f"<{tag}><xenc:EncryptionMethod Algorithm=\"{XENC}{cipher}\"/>"
            f"<xenc:CipherData><xenc:CipherValue>{b64(data)}</xenc:CipherValue>"
            f"</xenc:CipherData></{tag}>")


def _plain_int(tag, v):
    return "" if v is None else f"<{tag}><PlainValue>{int(v)}</PlainValue></{tag}>"


class Writer:
    """One container's crypto: @key (pre-shared) or @password (PBKDF2)."""

    def __init__(self, key=None, password=None, cipher="aes128-cbc",
                 mac="hmac-sha1", salt=None, iterations=1000, prf=None,
                 key_length=None):
        self.cipher, self.mac = cipher, mac
        self.password, self.salt = password, salt or os.urandom(16)
        self.iterations, self.prf, self.key_length = iterations, prf, key_length
        if password is not None:
            digest = "sha256" if prf == "hmac-sha256" else "sha1"
            key = hashlib.pbkdf2_hmac(digest, password.encode(), self.salt,
                                      iterations, CIPHER_KEY_LEN[cipher])
        self.key = key
        self.mac_key = os.urandom(MAC[mac][1]().digest_size) if key else None

    def header(self):
        if self.key is None:
            return ""
        if self.password is not None:
            prf = (f"<PRF Algorithm=\"{MAC[self.prf][0]}\"/>" if self.prf else "")
            klen = self.key_length or CIPHER_KEY_LEN[self.cipher]
            ek = (f"<EncryptionKey><xenc11:DerivedKey><xenc11:KeyDerivationMethod"
                  f" Algorithm=\"{PBKDF2}\"><pkcs5:PBKDF2-params><Salt><Specified>"
                  f"{b64(self.salt)}</Specified></Salt><IterationCount>"
                  f"{self.iterations}</IterationCount><KeyLength>{klen}</KeyLength>"
                  f"{prf}</pkcs5:PBKDF2-params></xenc11:KeyDerivationMethod>"
                  f"</xenc11:DerivedKey></EncryptionKey>")
        else:
            ek = "<EncryptionKey><ds:KeyName>Guichet test key</ds:KeyName></EncryptionKey>"
        mk = _encrypted("MACKey", encrypt(self.key, self.mac_key, self.cipher), self.cipher)
        return ek + f"<MACMethod Algorithm=\"{MAC[self.mac][0]}\">{mk}</MACMethod>"

    def secret(self, secret, tamper=None):
        if self.key is None:
            return f"<Secret><PlainValue>{b64(secret)}</PlainValue></Secret>"
        data = bytearray(encrypt(self.key, secret, self.cipher))
        mac = bytearray(hmac.new(self.mac_key, bytes(data), MAC[self.mac][1]).digest())
        if tamper == "mac":
            mac[3] ^= 0x01
        elif tamper == "cipher":
            data[20] ^= 0x80
        return ("<Secret>" + _encrypted("EncryptedValue", bytes(data), self.cipher)
                + f"<ValueMAC>{b64(bytes(mac))}</ValueMAC></Secret>")


def package(w, t, tamper=None):
    dev = ""
    if t.manufacturer is not None:
        dev += f"<Manufacturer>{escape(t.manufacturer)}</Manufacturer>"
    if t.serial is not None:
        dev += f"<SerialNo>{escape(t.serial)}</SerialNo>"
    params = f"<ResponseFormat Length=\"{t.digits}\" Encoding=\"DECIMAL\"/>"
    if t.suite:
        params = f"<Suite>{escape(t.suite)}</Suite>" + params
    data = (w.secret(t.secret, tamper) + _plain_int("Counter", t.counter)
            + _plain_int("TimeInterval", t.period) + _plain_int("TimeDrift", t.drift))
    policy = ""
    if t.start:
        policy += f"<StartDate>{t.start}</StartDate>"
    if t.expiry:
        policy += f"<ExpiryDate>{t.expiry}</ExpiryDate>"
    policy = f"<Policy>{policy}</Policy>" if policy else ""
    return (f"<KeyPackage><DeviceInfo>{dev}</DeviceInfo>"
            f"<Key Id={quoteattr(t.serial or 'k')} Algorithm=\"{ALG[t.type]}\">"
            f"<AlgorithmParameters>{params}</AlgorithmParameters>"
            f"<Data>{data}</Data>{policy}</Key></KeyPackage>\n")


def build(tokens, tamper=None, **crypto):
    """A KeyContainer for @tokens (a list of Token).  @tamper: {index: "mac"
    | "cipher"}.  @crypto: Writer's arguments.  @return bytes."""
    w = Writer(**crypto)
    tamper = tamper or {}
    body = "".join(package(w, t, tamper.get(i)) for i, t in enumerate(tokens))
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<KeyContainer Version=\"1.0\" xmlns=\"{NS}\""
            " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\""
            f" xmlns:xenc=\"{XENC}\""
            " xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\""
            " xmlns:pkcs5=\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#\">\n"
            + w.header() + "\n" + body + "</KeyContainer>\n").encode()

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// crypto.js -- the Guichet app's cryptography, in WebCrypto only: API.md's
// device activation (the two P-256 key pairs, M, its HMAC proof and ECDSA
// signature), the OTP seed (ECDH, then HKDF-SHA256), TOTP, signed device
// requests, and a payment's data T with its signature and 8-digit offline
// response code.
//
// Secrets stay inside CryptoKey objects that scripts cannot read: the
// signing and ECDH private keys are generated non-extractable, the ECDH
// result goes straight into a non-extractable HKDF key (deriveKey, so the
// shared x-coordinate never becomes bytes in JavaScript), and the seed is
// derived from it as a non-extractable HMAC key whose only use is "sign"
// -- which is all TOTP and the response code need.  The activation secret
// from the QR code is the only secret this module ever sees as bytes; it
// is imported as an HMAC key at once and the caller drops it.
//
// The module has no DOM and no storage: it runs the same in the browser
// and under node's test runner (tests/node/crypto.test.mjs reproduces
// every line of API.md's test vectors with fixed keys imported there).
// WebCrypto signs ECDSA as raw r||s (IEEE P1363); the server wants DER
// with s in the lower half (docs/security-holes.md), so every signature is
// normalised and re-encoded here.

const subtle = globalThis.crypto.subtle;

// The order n of P-256: of (r, s) and (r, n - s) the server takes only the
// one with s <= n/2.
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const ACTIVATE_LABEL = "guichet-activate-v1";
const SEED_LABEL = "guichet-otp-seed-v1";
const TX_LABEL = "guichet-tx-v1";

// ---------------------------------------------------------------- bytes

export const utf8 = (s) => new TextEncoder().encode(s);

export function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const hex = (bytes) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function fromHex (s) {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s))
    throw new Error("not hex");
  return Uint8Array.from(s.match(/../g) || [], (h) => parseInt(h, 16));
}

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// base64url without padding (RFC 4648 section 5).
export function b64u (bytes) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64U[n >> 18] + B64U[(n >> 12) & 63] + B64U[(n >> 6) & 63] + B64U[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8);
    out += B64U[n >> 18] + B64U[(n >> 12) & 63];
    if (i + 1 < bytes.length)
      out += B64U[(n >> 6) & 63];
  }
  return out;
}

// The bytes of canonical base64url without padding; null for anything
// else (padding, other alphabets, non-zero trailing bits, length 4k+1).
export function unb64u (s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1)
    return null;
  const out = new Uint8Array(Math.floor(s.length * 3 / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of s) {
    acc = (acc << 6) | B64U.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0)
    return null;
  return out;
}

async function sha256 (bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

export async function sha256Hex (bytes) {
  return hex(await sha256(bytes));
}

// ---------------------------------------------------------------- keys

// The phone's two key pairs, private halves non-extractable: the
// long-lived ECDSA signing key and the ECDH key that lives until the seed
// is derived.
export async function newDeviceKeys () {
  const sign = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false,
                                        ["sign", "verify"]);
  const ecdh = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false,
                                        ["deriveKey", "deriveBits"]);
  return { sign, ecdh };
}

// The 65-byte uncompressed SEC1 point of a P-256 public key.
export async function publicPoint (publicKey) {
  return new Uint8Array(await subtle.exportKey("raw", publicKey));
}

// A P-256 public key from its 65-byte uncompressed point (the server's
// ECDH key); WebCrypto refuses a point that is not on the curve.
export async function importPoint (point, name = "ECDH") {
  if (!(point instanceof Uint8Array) || point.length !== 65 || point[0] !== 4)
    throw new Error("not an uncompressed P-256 point");
  return subtle.importKey("raw", point, { name, namedCurve: "P-256" }, true,
                          name === "ECDSA" ? ["verify"] : []);
}

// ---------------------------------------------------------------- ECDSA

function bigOf (bytes) {
  return BigInt("0x" + (hex(bytes) || "0"));
}

function bytesOf (n, len) {
  return fromHex(n.toString(16).padStart(len * 2, "0"));
}

// A DER INTEGER of a non-negative 32-byte big-endian value: shortest
// form, with a 0x00 in front when the top bit is set.
function derInteger (bytes) {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0)
    i++;
  let v = bytes.subarray(i);
  if (v[0] & 0x80)
    v = concat(Uint8Array.of(0), v);
  return concat(Uint8Array.of(0x02, v.length), v);
}

// WebCrypto's r||s (64 bytes) as DER, with s rewritten to n - s when it
// is in the upper half.
export function p1363ToDerLowS (raw) {
  if (raw.length !== 64)
    throw new Error("not a P-256 signature");
  const r = raw.subarray(0, 32);
  let s = bigOf(raw.subarray(32));
  if (s > P256_N / 2n)
    s = P256_N - s;
  const body = concat(derInteger(r), derInteger(bytesOf(s, 32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

// ECDSA-P256-SHA256 of data: DER, low-s.
export async function signDer (privateKey, data) {
  const raw = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, data);
  return p1363ToDerLowS(new Uint8Array(raw));
}

// ---------------------------------------------------------------- activation

// M = "guichet-activate-v1" 0x00 challenge_id 0x00 device_pub ecdh_pub
export function activationMessage (challengeId, devicePub, ecdhPub) {
  return concat(utf8(ACTIVATE_LABEL), Uint8Array.of(0), utf8(challengeId), Uint8Array.of(0),
                devicePub, ecdhPub);
}

async function hmacKey (raw) {
  return subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

// HMAC-SHA256(key = activation secret, M)
export async function activationProof (secret, message) {
  return new Uint8Array(await subtle.sign("HMAC", await hmacKey(secret), message));
}

// The body of POST /v1/devices/activate for challenge challengeId of a QR
// whose activation secret is secret (16 bytes), with keys from
// newDeviceKeys() and the device object of signals.
export async function activationBody (challengeId, secret, keys, device) {
  const devicePub = await publicPoint(keys.sign.publicKey);
  const ecdhPub = await publicPoint(keys.ecdh.publicKey);
  const m = activationMessage(challengeId, devicePub, ecdhPub);
  return {
    challenge_id: challengeId,
    device_public_key: b64u(devicePub),
    ecdh_public_key: b64u(ecdhPub),
    proof: b64u(await activationProof(secret, m)),
    signature: b64u(await signDer(keys.sign.privateKey, m)),
    device,
  };
}

// ---------------------------------------------------------------- seed

const HASHES = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

// The server's "otp" object, checked as the reference phone checks it.
// @return {algorithm, digits, period} or null.
export function otpParams (otp) {
  if (!otp || otp.type !== "totp" || !(otp.algorithm in HASHES)
      || !Number.isInteger(otp.digits) || otp.digits < 6 || otp.digits > 8
      || !Number.isInteger(otp.period) || otp.period < 1 || otp.period > 3600)
    return null;
  return { algorithm: otp.algorithm, digits: otp.digits, period: otp.period };
}

// seed = HKDF-SHA256(IKM = ECDH x-coordinate, salt = activation secret,
//                    info = "guichet-otp-seed-v1" 0x00 device_id, L = 32)
// as non-extractable HMAC keys: txKey (HMAC-SHA256, the response code) and
// totpKey (HMAC with the TOTP's hash: the same key when that is SHA-256).
// The ECDH result lands in an HKDF key directly.  extractable is for the
// test vectors only.
export async function deriveSeedKeys (ecdhPrivate, serverPub, secret, deviceId,
                                      { algorithm = "SHA256", extractable = false } = {}) {
  const server = await importPoint(serverPub);
  const ikm = await ikmKey(ecdhPrivate, server);
  const params = {
    name: "HKDF", hash: "SHA-256", salt: secret,
    info: concat(utf8(SEED_LABEL), Uint8Array.of(0), utf8(deviceId)),
  };
  const derive = (hash) => subtle.deriveKey(params, ikm, { name: "HMAC", hash, length: 256 },
                                            extractable, ["sign"]);
  const txKey = await derive("SHA-256");
  const hash = HASHES[algorithm];
  if (!hash)
    throw new Error("unknown OTP algorithm");
  return { txKey, totpKey: hash === "SHA-256" ? txKey : await derive(hash) };
}

async function ikmKey (ecdhPrivate, serverPublic) {
  try {
    return await subtle.deriveKey({ name: "ECDH", public: serverPublic }, ecdhPrivate,
                                  "HKDF", false, ["deriveKey"]);
  } catch (e) {
    // A WebCrypto without ECDH -> HKDF deriveKey: through bytes, dropped
    // at once.
    const x = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: serverPublic },
                                                     ecdhPrivate, 256));
    try {
      return await subtle.importKey("raw", x, "HKDF", false, ["deriveKey"]);
    } finally {
      x.fill(0);
    }
  }
}

// ---------------------------------------------------------------- codes

// RFC 4226 dynamic truncation of an HMAC to digits decimal digits.
function truncate (mac, digits) {
  const o = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

export async function hotp (key, counter, digits = 6) {
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, BigInt(counter));
  return truncate(new Uint8Array(await subtle.sign("HMAC", key, msg)), digits);
}

// RFC 6238 at unix time t (seconds): {code, validFor (seconds left)}.
export async function totp (key, t, { digits = 6, period = 30 } = {}) {
  const step = Math.floor(t / period);
  return { code: await hotp(key, step, digits), validFor: (step + 1) * period - Math.floor(t) };
}

// ---------------------------------------------------------------- payments

// T = "guichet-tx-v1\n" id "\n" amount "\n" currency "\n" payee_name "\n"
//     payee_iban "\n" nonce   (UTF-8, no trailing newline)
export function txMessage (tx) {
  return utf8([TX_LABEL, tx.id, tx.amount, tx.currency, tx.payee_name, tx.payee_iban,
               tx.nonce].join("\n"));
}

// The 8-digit offline response code: truncation of HMAC-SHA256(seed, T).
export async function txResponseCode (txKey, tx) {
  return truncate(new Uint8Array(await subtle.sign("HMAC", txKey, txMessage(tx))), 8);
}

// The online approval's signature over T: DER, low-s, base64url.
export async function txSignature (signKey, tx) {
  return b64u(await signDer(signKey, txMessage(tx)));
}

// ---------------------------------------------------------------- requests

// The signed string of a device request:
// METHOD "\n" PATH "\n" TIMESTAMP "\n" hex(SHA-256(body))
export async function requestMessage (method, path, timestamp, body) {
  return utf8(`${method}\n${path}\n${timestamp}\n${await sha256Hex(body)}`);
}

// The three headers of a signed device request.  path is the API path
// without its query; body the exact bytes sent (empty for none);
// timestamp unix seconds the caller never reuses for this device.
export async function signRequest (signKey, deviceId, method, path, timestamp, body) {
  const m = await requestMessage(method, path, String(timestamp), body || new Uint8Array(0));
  return {
    "Guichet-Device": deviceId,
    "Guichet-Timestamp": String(timestamp),
    "Guichet-Signature": b64u(await signDer(signKey, m)),
  };
}

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// totp.mjs -- one-time codes for the browser tests, as an admin's
// authenticator app would make them: RFC 6238 TOTP (RFC 4226 HOTP over a
// time step) from an otpauth:// URI, with node:crypto's HMAC.  Written from
// the RFCs, independently of the server's OTP code; backoffice.test.mjs checks it
// on RFC 6238's appendix B vectors.

import { createHmac } from "node:crypto";

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// RFC 4648 base32, case-insensitive, padding and spaces ignored.
export function base32Decode (s) {
  const clean = String(s).toUpperCase().replace(/[\s=-]/g, "");
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const v = B32.indexOf(c);
    if (v < 0)
      throw new Error(`not base32: ${JSON.stringify(c)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

// otpauth://totp/Label?secret=…&algorithm=SHA1&digits=6&period=30
export function parseOtpauth (uri) {
  const u = new URL(uri);
  if (u.protocol !== "otpauth:" || u.host !== "totp")
    throw new Error(`not an otpauth://totp URI: ${uri}`);
  const secret = u.searchParams.get("secret");
  if (!secret)
    throw new Error("otpauth URI without a secret");
  return {
    key: base32Decode(secret),
    algorithm: (u.searchParams.get("algorithm") || "SHA1").toUpperCase(),
    digits: Number(u.searchParams.get("digits") || 6),
    period: Number(u.searchParams.get("period") || 30),
  };
}

// RFC 4226 HOTP with dynamic truncation.
export function hotp (key, counter, { algorithm = "SHA1", digits = 6 } = {}) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac(algorithm.toLowerCase(), key).update(msg).digest();
  const o = h[h.length - 1] & 0x0f;
  const bin = h.readUInt32BE(o) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, "0");
}

// RFC 6238: the code for unix time t (seconds; default now).
export function totp (params, t = Date.now() / 1000) {
  return hotp(params.key, Math.floor(t / params.period), params);
}

// Seconds left before the current code changes.
export function secondsLeft (params, t = Date.now() / 1000) {
  return params.period - (t % params.period);
}

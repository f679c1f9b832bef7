// SPDX-License-Identifier: AGPL-3.0-or-later
//
// payload.js -- what the Guichet app reads from a QR code or a link, parsed
// as strictly as the reference phone does (docs/authenticator.md,
// "Protocol decisions a port must keep"):
//   guichet://activate?v=1&u=<base URL>&c=<challenge id>&s=<secret>
//   guichet://tx?v=1&id=&a=&c=&n=<payee name>&i=<iban>&x=<nonce>
// The prefix must be exact, v must be 1 (another version is refused as
// such), every field once and non-empty, '+' reads as a space, and no
// value may hold a control character: T is newline-separated, so a %0A in
// a payee name would move the fields a signature covers.  A payee name
// that holds a character drawing nothing or reordering what is drawn
// (bidi controls, zero-width characters, soft hyphen, BOM, C1 controls,
// tags) is refused whether it comes from a QR code or the server's
// pending list: the screen is what the customer trusts.
//
// Also the small pure helpers the screens use to show a payment: the IBAN
// in groups of four, the amount as the customer's language writes it with
// exactly the signed digits, and the assurance code's form.  No DOM here:
// tests/node/payload.test.mjs runs it under node.

import { unb64u } from "./crypto.js";

export class PayloadError extends Error {
  constructor (code, message) {
    super(message);
    this.code = code;            // payload_invalid | payload_version
  }
}

const ACTIVATE = "guichet://activate?";
const TX = "guichet://tx?";

const bad = (message) => new PayloadError("payload_invalid", message);

// '+' is a space, as browsers and the reference phone read it; a bad
// escape or bad UTF-8 refuses the payload.
function decode (v) {
  try {
    return decodeURIComponent(v.replace(/\+/g, " "));
  } catch (e) {
    throw bad("badly percent-encoded");
  }
}

export const hasControl = (s) => /[\u0000-\u001f\u007f]/.test(s);

// U+00AD, U+0080..U+009F, U+061C, U+200B..U+200F, U+202A..U+202E,
// U+2060..U+2069, U+FEFF, U+E0000..U+E0FFF (as authenticator/payload.c).
export const hasInvisible = (s) =>
  /[\u00ad\u0080-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e0fff}]/u
    .test(s);

// The fields named in keys, from text after prefix.  Unknown names are
// ignored; a name twice, an empty value or a fragment is refused.
function query (text, prefix, keys) {
  if (typeof text !== "string" || !text.startsWith(prefix))
    throw bad(`does not start with ${prefix}`);
  const rest = text.slice(prefix.length);
  if (rest.includes("#"))
    throw bad("carries a fragment");
  const out = {};
  for (const pair of rest === "" ? [] : rest.split("&")) {
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw bad("a parameter without a name or value");
    const k = pair.slice(0, eq);
    if (!keys.includes(k))
      continue;
    if (k in out)
      throw bad(`parameter ${k} given twice`);
    out[k] = decode(pair.slice(eq + 1));
  }
  if (out.v !== undefined && out.v !== "1")
    throw new PayloadError("payload_version", "payload version not supported (want 1)");
  for (const k of keys) {
    if (!out[k])
      throw bad(`parameter ${k} is missing`);
    if (hasControl(out[k]))
      throw bad(`parameter ${k} holds a control character`);
  }
  return out;
}

// @return {baseUrl (no trailing '/'), origin, challengeId, secret (16 bytes)}
export function parseActivation (text) {
  const q = query(text, ACTIVATE, ["v", "u", "c", "s"]);
  const m = /^(https?):\/\/([^/?#\s]+)(\/[^?#\s]*)?$/.exec(q.u);
  if (!m)
    throw bad("the base URL is not http(s)://host without a query or fragment");
  let origin;
  try {
    origin = new URL(q.u).origin;
  } catch (e) {
    throw bad("the base URL is not a URL");
  }
  const secret = unb64u(q.s);
  if (!secret || secret.length !== 16)
    throw bad("the activation secret is not 16 bytes of base64url");
  return { baseUrl: q.u.replace(/\/+$/, ""), origin, challengeId: q.c, secret };
}

const AMOUNT = /^[0-9]{1,15}(?:\.[0-9]+)?$/;
const CURRENCY = /^[A-Z]{3}$/;

// The checks every payment passes, from a QR code or the pending list.
// @return the six fields of T (strings), or throws PayloadError.
export function checkTx (t) {
  const tx = {};
  for (const k of ["id", "amount", "currency", "payee_name", "payee_iban", "nonce"]) {
    const v = t ? t[k] : undefined;
    if (typeof v !== "string" || v === "" || hasControl(v))
      throw bad("a payment field is missing or holds a control character");
    tx[k] = v;
  }
  if (!AMOUNT.test(tx.amount))
    throw bad("the amount is not a decimal number");
  if (!CURRENCY.test(tx.currency))
    throw bad("the currency is not a three-letter code");
  if (hasInvisible(tx.payee_name))
    throw bad("the payee name holds an invisible or bidi character");
  return tx;
}

export function parseTx (text) {
  const q = query(text, TX, ["v", "id", "a", "c", "n", "i", "x"]);
  return checkTx({ id: q.id, amount: q.a, currency: q.c, payee_name: q.n,
                   payee_iban: q.i, nonce: q.x });
}

// What kind of payload text is, without parsing it.
export function kindOf (text) {
  if (typeof text !== "string")
    return null;
  if (text.startsWith(ACTIVATE))
    return "activate";
  if (text.startsWith(TX))
    return "tx";
  return null;
}

// ---------------------------------------------------------------- showing

export const groupIban = (iban) => iban.replace(/(.{4})(?=.)/g, "$1 ");

// The amount in the customer's language with exactly the digits that are
// signed (the string goes to Intl, never a float).
export function formatAmount (amount, currency, lang) {
  const digits = (amount.split(".")[1] || "").length;
  try {
    return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB", {
      style: "currency", currency, currencyDisplay: "code",
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    }).format(amount);
  } catch (e) {
    return `${amount} ${currency}`;
  }
}

// The customer's assurance code as API.md draws it (6 characters of
// ABCDEFGHJKLMNPQRSTUVWXYZ23456789), or null for anything else.
export function assuranceCode (v) {
  return typeof v === "string" && /^[A-HJ-NP-Z2-9]{6}$/.test(v) ? v : null;
}

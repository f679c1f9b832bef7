// SPDX-License-Identifier: AGPL-3.0-or-later
//
// api.js -- the one place the enrolment page talks to guichetd.
//
// Same-origin JSON over fetch; the applicant session is an HttpOnly cookie
// the browser sends by itself, so this file never sees or stores a secret.
// Every non-2xx answer becomes an ApiError carrying API.md's stable error
// code (and the dotted "field" of a 400 invalid_field), so callers decide on
// codes, never on message text.  A network failure is code "network",
// status 0.

import { getLang } from "./text.js";

export class ApiError extends Error {
  constructor (status, code, field, message, retryAfter, body) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter || null;
    this.body = body || null;     // the whole error answer (reasons, attempts_remaining)
  }
}

// Sends one request.  body: undefined (none), a string (already JSON, sent
// byte for byte -- the idempotency key is bound to those bytes) or a value to
// serialise.  opts.signal: an AbortSignal (a cancelled request throws code
// "aborted", status 0).  Answers {status, data, date} on 2xx -- date is the
// server's clock (Date header, ms since the epoch, NaN if absent), so a
// countdown does not depend on the browser's clock -- and throws ApiError
// otherwise.
export async function api (method, path, body, idempotencyKey, opts = {}) {
  // the page's language: the language of the e-mails the server sends
  const headers = { Accept: "application/json", "Accept-Language": getLang() };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (opts.signal)
    init.signal = opts.signal;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  if (idempotencyKey)
    headers["Idempotency-Key"] = idempotencyKey;

  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e && e.name === "AbortError")
      throw new ApiError(0, "aborted", null, "request cancelled");
    throw new ApiError(0, "network", null, String(e));
  }
  let data = null;
  let text;
  try {
    text = await res.text();
  } catch (e) {
    if (e && e.name === "AbortError")
      throw new ApiError(0, "aborted", null, "request cancelled");
    text = "";
  }
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.ok)
    return { status: res.status, data, date: Date.parse(res.headers.get("Date") || ""),
             replayed: res.headers.get("Idempotent-Replayed") === "true" };
  const err = (data && data.error) || {};
  throw new ApiError(res.status, err.code || "http_" + res.status,
                     (data && data.field) || err.field, err.message,
                     res.headers.get("Retry-After"), data);
}

// A random UUID for Idempotency-Key.  crypto.randomUUID needs a secure
// context (HTTPS or localhost); the fallback builds the same version-4 UUID
// from getRandomValues, which every browser offers everywhere.
export function newUuid () {
  if (crypto.randomUUID)
    return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Paths, so ids are always encoded the same way.
export const paths = {
  enrolments: "/v1/enrolments",
  enrolment: (id) => `/v1/enrolments/${encodeURIComponent(id)}`,
  resumeLink: (id) => `/v1/enrolments/${encodeURIComponent(id)}/resume-link`,
  resume: (id) => `/v1/enrolments/${encodeURIComponent(id)}/resume`,
  challenge: (id) => `/v1/enrolments/${encodeURIComponent(id)}/device-challenge`,
  pin: (id) => `/v1/enrolments/${encodeURIComponent(id)}/pin`,
  otpConfirm: (id) => `/v1/enrolments/${encodeURIComponent(id)}/otp-confirm`,
  credential: (id) => `/v1/enrolments/${encodeURIComponent(id)}/credential`,
  passkeyOptions: (id) => `/v1/enrolments/${encodeURIComponent(id)}/passkey/options`,
  passkey: (id) => `/v1/enrolments/${encodeURIComponent(id)}/passkey`,
  assuranceCode: (id) => `/v1/enrolments/${encodeURIComponent(id)}/assurance-code`,
};

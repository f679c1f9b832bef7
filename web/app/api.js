// SPDX-License-Identifier: AGPL-3.0-or-later
//
// api.js -- the Guichet app's HTTP calls: the activation, and the signed
// device requests of API.md (the pending list, approve, decline, the
// device's own status).
//
// The app talks only to the origin that served it (the CSP's connect-src
// says so too), never sends cookies (credentials: "omit": an applicant's
// session cookie on the same origin has nothing to do with the phone),
// and puts nothing secret in a URL: ids in paths, signatures in headers,
// the approval's signature in the body.  Each signed request takes a new
// timestamp from store.nextTimestamp(), so no signed message repeats.
// The server's Date header tells how far the phone's clock is off, which
// the app shows when codes and signatures would be refused for it.

import { signRequest, utf8 } from "./crypto.js";
import { nextTimestamp } from "./store.js";

export class ApiError extends Error {
  constructor (status, code, body, retryAfter) {
    super(code);
    this.status = status;          // 0: no answer
    this.code = code;
    this.body = body || {};
    this.retryAfter = retryAfter || null;
  }
}

let skew = 0;                      // server clock minus ours, seconds

// How far the phone's clock is from the server's, in seconds (last answer).
export const clockSkew = () => skew;

const ID = /^[A-Za-z0-9_-]{1,64}$/;

async function call (url, init) {
  let res;
  try {
    res = await fetch(url, { ...init, credentials: "omit", cache: "no-store", redirect: "error" });
  } catch (e) {
    if (init.signal && init.signal.aborted)
      throw new ApiError(0, "aborted");
    throw new ApiError(0, "network");
  }
  const date = Date.parse(res.headers.get("Date") || "");
  if (Number.isFinite(date))
    skew = Math.round((date - Date.now()) / 1000);
  const text = await res.text().catch(() => "");
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (res.ok)
    return { status: res.status, data };
  throw new ApiError(res.status, (data && data.error && data.error.code) || `http_${res.status}`,
                     data, res.headers.get("Retry-After"));
}

// POST {base}/v1/devices/activate.  @return {status: 201, data}
export function activate (baseUrl, body) {
  return call(`${baseUrl}/v1/devices/activate`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
}

// A signed device request of account a: path is the API path (signed as
// it is), query what follows it unsigned, body an object sent as JSON.
export async function signed (a, method, path, { query = "", body, signal } = {}) {
  const bytes = body === undefined ? new Uint8Array(0) : utf8(JSON.stringify(body));
  const ts = await nextTimestamp(a.deviceId, Math.floor(Date.now() / 1000));
  const headers = await signRequest(a.signKey, a.deviceId, method, path, ts, bytes);
  headers.Accept = "application/json";
  if (body !== undefined)
    headers["Content-Type"] = "application/json";
  return call(`${a.baseUrl}${path}${query}`, {
    method, headers, signal, body: body === undefined ? undefined : bytes,
  });
}

function checkId (id) {
  if (typeof id !== "string" || !ID.test(id))
    throw new ApiError(0, "bad_id");
  return id;
}

// The payments waiting for account a, held by the server up to wait s.
export function pending (a, wait, signal) {
  return signed(a, "GET", `/v1/devices/${checkId(a.deviceId)}/transactions`,
                { query: `?status=pending&wait=${wait}`, signal });
}

export function approve (a, txId, signature) {
  return signed(a, "POST", `/v1/transactions/${checkId(txId)}/approve`, { body: { signature } });
}

export function decline (a, txId) {
  return signed(a, "POST", `/v1/transactions/${checkId(txId)}/decline`);
}

// {device_id, status, customer_id, enrolment_id}
export function deviceInfo (a, signal) {
  return signed(a, "GET", `/v1/devices/${checkId(a.deviceId)}`, { signal });
}

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// api.js -- the one place the back-office talks to guichetd.
//
// Same-origin JSON over fetch.  The admin session is an HttpOnly cookie the
// browser sends by itself; the CSRF token that login answers is kept in
// sessionStorage (this tab only, gone when it closes) and sent as
// X-CSRF-Token on every state-changing call.  Every non-2xx answer becomes
// an ApiError carrying API.md's stable error code, so callers decide on
// codes, never on message text.  A network failure is code "network",
// status 0.

const STORE_CSRF = "guichet.backoffice.csrf";

export class ApiError extends Error {
  constructor (status, code, message, extra) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = (extra && extra.field) || null;
    this.retryAfter = (extra && extra.retryAfter) || null;
    this.body = (extra && extra.body) || null;   // the whole error answer
  }
}

export function csrfToken () {
  try { return sessionStorage.getItem(STORE_CSRF); } catch (e) { return null; }
}

export function setCsrfToken (token) {
  try {
    if (token)
      sessionStorage.setItem(STORE_CSRF, token);
    else
      sessionStorage.removeItem(STORE_CSRF);
  } catch (e) { /* private mode: the session lasts this page only */ }
}

// Sends one request.  body: undefined (none) or a value to serialise.
// Answers the parsed JSON (or null) on 2xx, throws ApiError otherwise.
export async function api (method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store",
                 redirect: "error" };
  if (method !== "GET" && method !== "HEAD") {
    const token = csrfToken();
    if (token)
      headers["X-CSRF-Token"] = token;
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", String(e));
  }
  let data = null;
  const text = await res.text().catch(() => "");
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.ok)
    return data;
  const err = (data && data.error) || {};
  throw new ApiError(res.status, err.code || "http_" + res.status, err.message,
                     { field: err.field || (data && data.field),
                       retryAfter: res.headers.get("Retry-After"), body: data });
}

// A query string from an object, leaving out empty values.
function query (params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== "")
      q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

// Paths, so ids are always encoded the same way.
export const paths = {
  login: "/v1/admin/login",
  logout: "/v1/admin/logout",
  me: "/v1/admin/me",
  reviews: (params) => "/v1/admin/reviews" + query(params),
  review: (id) => `/v1/admin/reviews/${encodeURIComponent(id)}`,
  decision: (id) => `/v1/admin/reviews/${encodeURIComponent(id)}/decision`,
  audit: (params) => "/v1/admin/audit" + query(params),
  outbox: (params) => "/v1/admin/outbox" + query(params),
  outboxRetry: (id) => `/v1/admin/outbox/${encodeURIComponent(id)}/retry`,
};

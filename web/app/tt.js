// SPDX-License-Identifier: AGPL-3.0-or-later
//
// tt.js -- the app's one Trusted Types policy.  The page's CSP requires
// Trusted Types for scripts and allows only the policy "guichet-app", so
// no string can become a script URL, HTML or code anywhere in the app
// except the script URLs named here: the service worker and the QR
// decoding worker.  Browsers without Trusted Types get the plain string.

const ALLOWED = new Set(["sw.js", "scan_worker.js"]);

const policy = globalThis.trustedTypes && globalThis.trustedTypes.createPolicy
  ? globalThis.trustedTypes.createPolicy("guichet-app", {
    createScriptURL: (u) => {
      if (!ALLOWED.has(u))
        throw new TypeError(`script URL not allowed: ${u}`);
      return u;
    },
  })
  : null;

export function scriptUrl (u) {
  if (!ALLOWED.has(u))
    throw new TypeError(`script URL not allowed: ${u}`);
  return policy ? policy.createScriptURL(u) : u;
}

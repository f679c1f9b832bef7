// SPDX-License-Identifier: AGPL-3.0-or-later
//
// signin.js -- passkey sign-in, as a bank's page would do it:
//
//   1. POST options   {"customer_id"?}            -> {"challenge_id", "publicKey"}
//      (the bank's server forwards to /v1/authn/passkey/options)
//   2. navigator.credentials.get({publicKey})      -> the authenticator asks
//      for the fingerprint, face or device PIN and signs the challenge
//   3. POST verify    {"challenge_id", "credential"} -> {"result": "accepted",
//      "customer_id", "credential_id"}, or 401 / 423
//      (the bank's server forwards to /v1/authn/passkey/verify and, on
//      "accepted", starts its own session for that customer)
//
// With no customer reference the browser offers the passkeys it holds for
// this site (a discoverable credential) and the answer says whose it was.
// A refusal never says which check failed; a locked customer is told so.

import { getPasskey, passkeyErrorKind, passkeysSupported } from "/common/webauthn.js";

const $ = (id) => document.getElementById(id);
const API = { options: "/signin/api/options", verify: "/signin/api/verify" };

async function post (path, body) {
  const res = await fetch(path, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}

function status (text) {
  $("signin-status").textContent = text;
}

function show (result, heading, text, data) {
  const box = $("signin-result");
  box.dataset.result = result;
  $("result-heading").textContent = heading;
  $("result-text").textContent = text;
  $("result-details").hidden = result !== "accepted";
  $("result-customer").textContent = data && data.customer_id ? data.customer_id : "";
  $("result-credential").textContent = data && data.credential_id ? data.credential_id : "";
  box.hidden = false;
  $("result-heading").focus();
}

const REFUSED = {
  401: "The passkey was not accepted. Try again, or sign in with your PIN and a code.",
  423: "Too many failed attempts: sign-in is locked. Please contact your bank.",
  404: "This sign-in took too long or was already used. Please try again.",
  409: "This sign-in was already used. Please try again.",
  410: "This sign-in took too long. Please try again.",
};

async function signIn (ev) {
  ev.preventDefault();
  const button = $("signin-submit");
  const ref = $("customer-ref").value.trim();
  button.disabled = true;
  $("signin-result").hidden = true;
  try {
    status("Asking for a challenge…");
    const opts = await post(API.options, ref ? { customer_id: ref } : {});
    if (opts.status !== 200) {
      show("refused", "Sign-in refused", REFUSED[opts.status] || "Something went wrong.", null);
      return;
    }
    status("Confirm with your fingerprint, face or screen lock…");
    let credential;
    try {
      credential = await getPasskey(opts.data.publicKey);
    } catch (e) {
      const kind = passkeyErrorKind(e);
      show("cancelled", "Sign-in not completed", kind === "cancelled"
        ? "No passkey was used (cancelled, timed out, or none saved for this site)."
        : "This device could not use a passkey.", null);
      return;
    }
    status("Checking…");
    const v = await post(API.verify, { challenge_id: opts.data.challenge_id, credential });
    if (v.status === 200 && v.data && v.data.result === "accepted")
      show("accepted", "Signed in", "Your passkey was accepted.", v.data);
    else
      show("refused", "Sign-in refused", REFUSED[v.status] || "Something went wrong.", null);
  } catch (e) {
    show("refused", "Sign-in failed", "The bank could not be reached. Try again.", null);
  } finally {
    status("");
    button.disabled = false;
  }
}

if (!passkeysSupported()) {
  $("signin-unsupported").hidden = false;
  $("signin-submit").disabled = true;
}
$("signin-form").addEventListener("submit", signIn);

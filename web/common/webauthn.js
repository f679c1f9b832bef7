// SPDX-License-Identifier: AGPL-3.0-or-later
//
// webauthn.js -- passkeys in the browser: Guichet's options JSON in,
// navigator.credentials.create() / .get(), the credential JSON out
// (WebAuthn Level 3's PublicKeyCredentialCreationOptionsJSON /
// RequestOptionsJSON and RegistrationResponseJSON /
// AuthenticationResponseJSON, binary members as base64url).
//
// Written out by hand rather than with PublicKeyCredential.
// parseCreationOptionsFromJSON() and credential.toJSON(), which not every
// browser a bank's customers use has yet; the conversion is all this file
// does.  It holds no secret: the private key never leaves the
// authenticator, and what the browser posts back is signed by it.

// base64url (no padding) <-> bytes
export function fromB64u (s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

export function toB64u (buf) {
  const bytes = new Uint8Array(buf);
  let s = "";
  for (const b of bytes)
    s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptor = (d) => ({ type: d.type, id: fromB64u(d.id),
                             ...(d.transports ? { transports: d.transports } : {}) });

// Is there a way to make a passkey here at all?
export function passkeysSupported () {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

// navigator.credentials.create() from the server's options; @return the
// RegistrationResponseJSON to post back.
export async function createPasskey (options, signal) {
  const publicKey = {
    ...options,
    challenge: fromB64u(options.challenge),
    user: { ...options.user, id: fromB64u(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map(descriptor),
  };
  const cred = await navigator.credentials.create({ publicKey, signal });
  const r = cred.response;
  const response = {
    clientDataJSON: toB64u(r.clientDataJSON),
    attestationObject: toB64u(r.attestationObject),
    transports: typeof r.getTransports === "function" ? r.getTransports() : [],
  };
  return {
    id: cred.id,
    rawId: toB64u(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
    response,
  };
}

// navigator.credentials.get() from the server's options; @return the
// AuthenticationResponseJSON to post back.
export async function getPasskey (options, signal) {
  const publicKey = {
    ...options,
    challenge: fromB64u(options.challenge),
    allowCredentials: (options.allowCredentials || []).map(descriptor),
  };
  const cred = await navigator.credentials.get({ publicKey, signal });
  const r = cred.response;
  return {
    id: cred.id,
    rawId: toB64u(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: {
      clientDataJSON: toB64u(r.clientDataJSON),
      authenticatorData: toB64u(r.authenticatorData),
      signature: toB64u(r.signature),
      userHandle: r.userHandle ? toB64u(r.userHandle) : undefined,
    },
  };
}

// What a failed create()/get() means to the person in front of it:
// "cancelled" (they said no, or it timed out: NotAllowedError),
// "exists" (this authenticator has a passkey for the account already),
// "unsupported", or "failed".
export function passkeyErrorKind (e) {
  switch (e && e.name) {
  case "NotAllowedError":
  case "AbortError":
    return "cancelled";
  case "InvalidStateError":
    return "exists";
  case "NotSupportedError":
    return "unsupported";
  default:
    return "failed";
  }
}

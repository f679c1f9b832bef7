// SPDX-License-Identifier: AGPL-3.0-or-later
//
// passkey.js -- "Also use this computer": on the credential step and on
// the last page, the applicant may register a passkey for the computer
// they are using (API.md, POST .../passkey/options then .../passkey).
//
// It is optional and comes on top of the credential chosen: the page says
// what it is (the fingerprint or face unlocks a key the computer keeps;
// nothing biometric reaches the bank) and that payments still go through
// the phone.  The browser and the authenticator do the work
// (/common/webauthn.js); this file only asks, posts and says how it went.
// Which enrolments got one is kept for this tab (sessionStorage), so a
// reload or a language switch still says "registered".

import { createPasskey, passkeyErrorKind, passkeysSupported } from "/common/webauthn.js";
import { api, ApiError, paths } from "./api.js";
import { clearText, setText } from "./text.js";

const $ = (id) => document.getElementById(id);
const STORE = "guichet.passkeys";
const PLACES = ["cred", "done"];
let ctx = null;

function added () {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
}

function remember (id) {
  const list = added().filter((x) => x !== id).concat([id]).slice(-5);
  try { sessionStorage.setItem(STORE, JSON.stringify(list)); } catch (e) { /* private mode */ }
}

function say (where, key, state) {
  const box = $("passkey-status-" + where);
  box.dataset.state = state;
  if (key)
    setText(box, key);
  else
    clearText(box);
}

// Shows the block of @a where ("cred" or "done") for enrolment @a id.
export function renderPasskey (where, id) {
  const block = $("passkey-" + where);
  const button = $("passkey-add-" + where);
  block.dataset.enrolment = id;
  block.hidden = false;
  if (!passkeysSupported()) {
    button.hidden = true;
    say(where, "passkey.unsupported", "unsupported");
  } else if (added().includes(id)) {
    say(where, "passkey.done", "done");
  } else if ($("passkey-status-" + where).dataset.state === "done") {
    say(where, null, "idle");     // another enrolment in this tab
  }
}

function failure (e) {
  if (e instanceof ApiError)
    return e.status === 422 ? ["passkey.refused", "refused"] : null;
  const kind = passkeyErrorKind(e);
  return ["passkey." + kind, kind === "exists" ? "done" : kind];
}

async function add (where) {
  const id = $("passkey-" + where).dataset.enrolment;
  const button = $("passkey-add-" + where);
  button.disabled = true;
  say(where, "passkey.working", "working");
  try {
    const o = await api("POST", paths.passkeyOptions(id), {});
    const credential = await createPasskey(o.data.publicKey);
    await api("POST", paths.passkey(id), { challenge_id: o.data.challenge_id, credential });
    remember(id);
    say(where, "passkey.done", "done");
  } catch (e) {
    const f = failure(e);
    if (f)
      say(where, f[0], f[1]);
    else {
      say(where, "passkey.failed", "failed");
      ctx.error(e);               // a lost session and the like: the page's way
    }
  } finally {
    button.disabled = false;
  }
}

// c: the credential step's context ({error(e)}).
export function setupPasskey (c) {
  ctx = c;
  for (const where of PLACES)
    $("passkey-add-" + where).addEventListener("click", () => add(where));
}

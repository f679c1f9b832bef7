// SPDX-License-Identifier: AGPL-3.0-or-later
//
// assurance.js -- the assurance code on the enrolment page (API.md,
// "Messages, webhooks and the assurance code").
//
// On the credential step the applicant may choose the six characters that
// will end every message the bank sends them (POST .../assurance-code,
// before the credential is chosen); left empty, the server draws one.  The
// completion page shows the code once, from the answer that completed the
// enrolment: it is a secret shared with the bank, so it lives only in this
// module's memory and in the DOM while shown -- never in storage, a URL or
// a log -- and a reload no longer shows it.

import { api, paths } from "./api.js";
import { clearText, setText } from "./text.js";

const $ = (id) => document.getElementById(id);
export const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

let shownCode = null;     // {id, code} from the completing answer

function setCodeError (key) {
  setText($("assurance-code-error"), key);
  $("assurance-code").setAttribute("aria-invalid", "true");
  $("assurance-field").classList.add("field--error");
}

export function clearCodeError () {
  clearText($("assurance-code-error"));
  $("assurance-code").removeAttribute("aria-invalid");
  $("assurance-field").classList.remove("field--error");
}

// The code typed, in capitals without spaces; "" when none; null (with
// the error shown) when it cannot be one.
export function readAssuranceCode () {
  const v = $("assurance-code").value.replace(/\s+/g, "").toUpperCase();
  clearCodeError();
  if (!v)
    return "";
  if (v.length !== 6 || [...v].some((c) => !ALPHABET.includes(c))) {
    setCodeError("code.err.format");
    return null;
  }
  return v;
}

// Sends a chosen code (none: nothing to do).  Throws ApiError; a 400 on
// the field is shown next to it and answers false.
export async function sendAssuranceCode (id, code) {
  if (!code)
    return true;
  try {
    await api("POST", paths.assuranceCode(id), { code });
    return true;
  } catch (e) {
    if (e && e.status === 400 && e.field === "code") {
      setCodeError("code.err.format");
      $("assurance-code").focus();
      return false;
    }
    throw e;
  }
}

// Keeps the code of the completing answer for the completion page.
export function keepAnswerCode (id, answer) {
  const c = answer && typeof answer.assurance_code === "string" ? answer.assurance_code : null;
  shownCode = c && /^[A-Z2-9]{6}$/.test(c) ? { id, code: c } : null;
  $("assurance-code").value = "";
}

// Shows the code on the completion page once, for this enrolment.
export function renderAssuranceDone (id) {
  const known = shownCode && shownCode.id === id;
  $("completed-assurance-code").textContent = known ? shownCode.code : "";
  $("completed-assurance").hidden = !known;
  $("completed-assurance-gone").hidden = known;
}

// Leaving the page's flow (a new application): forget it.
export function forgetAssurance () {
  shownCode = null;
  $("completed-assurance-code").textContent = "";
  $("assurance-code").value = "";
}

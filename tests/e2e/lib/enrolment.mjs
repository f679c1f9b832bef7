// SPDX-License-Identifier: AGPL-3.0-or-later
//
// enrolment.mjs -- the applicant's way through the enrolment page, step by
// step, for tests that need to get somewhere: a fresh applicant through the
// identity check to the QR code (toDeviceStep), and on with the reference
// authenticator as the phone through the PIN and first code to state
// "credential" (toCredentialStep).  Also the small things those tests look
// at: a visible text, the QR image as a camera sees it, the enrolment as
// the server tells the page.

import assert from "node:assert/strict";
import { join } from "node:path";

import { ARTIFACTS, fillForm, outcome } from "./browser.mjs";
import { applicant } from "./mrz.mjs";

export const PIN = "480793";

export async function visibleText (page, selector) {
  const loc = page.locator(selector);
  await loc.waitFor({ state: "visible" });
  return (await loc.innerText()).trim();
}

export const activeId = (page) =>
  page.evaluate(() => document.activeElement && document.activeElement.id);

// True when the page needs no sideways scrolling.
export const fits = (page) => page.evaluate(() =>
  document.documentElement.scrollWidth <= document.documentElement.clientWidth);

// The device challenge the page shows once its image has loaded (another
// one than `other`).
export async function shownChallenge (page, other = null) {
  await page.waitForFunction((old) => {
    const img = document.getElementById("qr-img");
    const id = document.getElementById("qr").dataset.challenge;
    return id && id !== old && !img.hidden && img.complete && img.naturalWidth > 0
      && img.getAttribute("src").includes(encodeURIComponent(id));
  }, other, { timeout: 20000 });
  return page.getAttribute("#qr", "data-challenge");
}

// What a phone's camera sees: one <img> element only (default: the device
// step's QR code), saved as tests/artifacts/e2e/<name>.png.
export async function shootQr (page, name, selector = "#qr-img") {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.locator(selector).screenshot({ path });
  return path;
}

// The enrolment as the server tells the page (same session cookie).
export function serverView (page, id) {
  return page.evaluate(async (eid) => {
    const r = await fetch(`/v1/enrolments/${encodeURIComponent(eid)}`, {
      headers: { Accept: "application/json" }, cache: "no-store",
    });
    return { status: r.status, body: await r.json() };
  }, id);
}

// A fresh applicant through the identity check to the QR code: the
// enrolment id and the challenge shown.
export async function toDeviceStep (page, who = applicant()) {
  await fillForm(page, who);
  await page.click("#submit");
  const out = await outcome(page);
  assert.equal(out.state, "device", `expected the device step, page shows ${JSON.stringify(out)}`);
  const id = await visibleText(page, "[data-testid=enrolment-id]");
  const challenge = await shownChallenge(page);
  return { id, challenge };
}

// On from a fresh page to state "credential" without a wrong step: the
// phone scans the QR code, a good PIN, the app's first code.  name prefixes
// the QR screenshot.  Answers the enrolment id.
export async function toCredentialStep (page, phone, name = "qr") {
  const { id } = await toDeviceStep(page);
  const answer = await phone.activateQr(await shootQr(page, name));
  assert.equal(answer.status, "active", JSON.stringify(answer));
  await page.locator("#pin-panel").waitFor({ state: "visible", timeout: 20000 });
  await page.fill("#pin", PIN);
  await page.fill("#pin-confirm", PIN);
  await page.click("#pin-submit");
  await page.locator("#otp-panel").waitFor({ state: "visible" });
  const code = await phone.code();
  await page.fill("#otp", code.otp);
  await page.click("#otp-submit");
  await page.locator("[data-testid=view-credential]").waitFor({ state: "visible" });
  await page.locator("#credential-choose").waitFor({ state: "visible" });
  return id;
}

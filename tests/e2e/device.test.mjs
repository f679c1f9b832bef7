// SPDX-License-Identifier: AGPL-3.0-or-later
//
// device.test.mjs -- the device step in a real browser against a real
// guichetd (GUICHET_BASE_URL), with the reference authenticator
// (build/authenticator/guichet-authenticator) as the phone.
//
// The phone reads the QR code the way a phone does: the test screenshots
// the <img> the page shows and the CLI decodes that PNG with zbarimg.  The
// page must then move on by itself (long-poll), take a PIN (a refused one
// first, explained next to the field), take the first code from the app,
// and reach state "credential".  An expired code is replaced by the page
// with a new one, whether the server says so or the page's own countdown
// runs out (Playwright's clock); an emulator is sent to review and the page
// says so and moves on by itself when the review is decided.
//
// GUICHET_DATABASE_URL (the server's database, read with psql) lets the
// tests check the state in the database, make a code expire and stand in
// for the back-office's decision; without it those parts are skipped.
// Screenshots and QR images go to tests/artifacts/e2e/.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, openEnrolment, screenshot } from "./lib/browser.mjs";
import { activeId, fits, serverView, shootQr, shownChallenge, toDeviceStep,
         visibleText } from "./lib/enrolment.mjs";
import { decodeQr, Phone, psql } from "./lib/phone.mjs";

const T = { timeout: 90000 };
const DB = Boolean(process.env.GUICHET_DATABASE_URL);
const PHONE = { width: 360, height: 740 };
const S = browserSuite();
const start = (opts) => openEnrolment(S, opts);

async function dbState (id) {
  return psql("SELECT state FROM enrolments WHERE id = :'id';", { id });
}

function countdownSeconds (text) {
  const m = /^(\d\d):(\d\d)$/.exec(text);
  assert.ok(m, `countdown reads mm:ss, got ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

describe("device step", () => {
  test("QR scanned by the phone, the page moves on, PIN refused then set, first code, credential", T, async () => {
    const { context, page, problems } = await start({ viewport: PHONE });
    const phone = new Phone();
    try {
      const { id, challenge } = await toDeviceStep(page);
      assert.equal(await activeId(page), "device-heading", "focus stays on the step's heading");
      assert.match(await visibleText(page, "#qr-heading"), /Scan this code with the Guichet app/);
      assert.equal(await page.getAttribute("#qr-img", "alt"), "QR code to scan with the Guichet app");
      assert.equal(await page.getAttribute("#device-status", "role"), "status");
      assert.match(await visibleText(page, "[data-testid=device-status]"), /Waiting for your phone/);
      const left = countdownSeconds(await visibleText(page, "[data-testid=qr-countdown]"));
      assert.ok(left > 150 && left <= 180, `about 3 minutes on the clock, got ${left} s`);
      assert.equal(await page.getAttribute("#qr-countdown", "role"), "timer");
      await page.waitForFunction((s) => {
        const [m, ss] = document.getElementById("qr-countdown").textContent.split(":");
        return Number(m) * 60 + Number(ss) < s;
      }, left, { timeout: 5000 });
      assert.match(await page.getAttribute("#qr-link", "href"), /^\/app\/#guichet:\/\/activate\?v=1&/);
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the device step");
      await screenshot(page, "20-device-qr");

      // The phone scans the code on the screen.
      const png = await shootQr(page, "21-qr");
      assert.match(await decodeQr(png), new RegExp(`^guichet://activate\\?v=1&.*c=${challenge}&`));
      await page.evaluate(() => { window.__sameDocument = true; });
      const t0 = Date.now();
      const answer = await phone.activateQr(png);
      assert.equal(answer.status, "active", JSON.stringify(answer));

      // The page learns it by itself, without a reload, well within one
      // long-poll (25 s).
      await page.locator("#pin-panel").waitFor({ state: "visible", timeout: 20000 });
      assert.ok(Date.now() - t0 < 12000, `the page moved on after ${Date.now() - t0} ms`);
      assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
      assert.equal(await page.getAttribute("[data-testid=enrolment-state]", "data-state"), "pin_otp");
      assert.equal(await activeId(page), "pin-heading", "focus moves to the new step");
      const policy = await visibleText(page, "[data-testid=pin-policy]");
      for (const rule of [/6 to 12 digits/, /one digit repeated/, /digits in a row/,
                          /common PIN/, /date of birth/])
        assert.match(policy, rule);
      const pin = page.locator("#pin");
      assert.equal(await pin.getAttribute("type"), "password");
      assert.equal(await pin.getAttribute("inputmode"), "numeric");
      assert.equal(await pin.getAttribute("autocomplete"), "new-password");
      assert.match(await pin.getAttribute("aria-describedby"), /\bpin-policy\b.*\bpin-error\b/);
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the PIN form");
      await screenshot(page, "22-pin-form");

      // From the keyboard: Tab to the PIN, type it twice, Enter.  A PIN in
      // a row is refused, and the page says why next to the field.
      await page.keyboard.press("Tab");
      assert.equal(await activeId(page), "pin");
      await page.keyboard.type("123456");
      await page.keyboard.press("Tab");
      assert.equal(await activeId(page), "pin-confirm");
      await page.keyboard.type("123456");
      await page.keyboard.press("Enter");
      const reason = page.locator("[data-testid=pin-reason-sequential]");
      await reason.waitFor({ state: "visible" });
      assert.match(await reason.innerText(), /digits in a row/);
      assert.match(await visibleText(page, "#pin-error"), /This PIN cannot be used/);
      assert.equal(await pin.getAttribute("aria-invalid"), "true");
      assert.equal(await activeId(page), "pin", "focus returns to the PIN");
      assert.equal(await pin.inputValue(), "", "a refused PIN is not kept");
      const err = await page.locator("#pin-error").boundingBox();
      const box = await pin.boundingBox();
      assert.ok(err.y >= box.y + box.height - 1 && err.y - (box.y + box.height) < 40,
                "the reason sits right under the field");
      await screenshot(page, "23-pin-refused");

      // Two different PINs never reach the server.
      await pin.fill("480793");
      await page.fill("#pin-confirm", "480739");
      await page.click("#pin-submit");
      assert.match(await visibleText(page, "#pin-confirm-error"), /two PINs are different/);

      // A good PIN.
      await pin.fill("480793");
      await page.fill("#pin-confirm", "480793");
      await page.press("#pin-confirm", "Enter");
      await page.locator("#otp-panel").waitFor({ state: "visible" });
      assert.equal(await activeId(page), "otp-heading");
      assert.match(await visibleText(page, "#otp-hint"), /6-digit code shown in your Guichet app/);
      assert.equal(await page.getAttribute("#otp", "inputmode"), "numeric");
      assert.equal(await page.getAttribute("#otp", "autocomplete"), "one-time-code");
      await screenshot(page, "24-otp-form");

      // A wrong code first: the attempts left are shown.
      let code = await phone.code();
      const wrong = String((Number(code.otp) + 1) % 1000000).padStart(6, "0");
      await page.fill("#otp", wrong);
      await page.click("#otp-submit");
      assert.match(await visibleText(page, "#otp-error"), /not right.*4 attempts left/);
      assert.equal(await page.getAttribute("#otp", "aria-invalid"), "true");

      // The code the app shows.
      code = await phone.code();
      await page.fill("#otp", code.otp);
      await page.press("#otp", "Enter");
      await page.locator("[data-testid=view-credential]").waitFor({ state: "visible" });
      assert.match(await visibleText(page, "#credential-heading"), /Your phone is registered/);
      assert.match(await visibleText(page, "[data-testid=view-credential]"), /Next: choose your credential/);
      assert.equal(await activeId(page), "credential-heading");
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the last step");
      await screenshot(page, "25-credential");

      const view = await serverView(page, id);
      assert.equal(view.status, 200);
      assert.equal(view.body.state, "credential", JSON.stringify(view.body));
      if (DB)
        assert.equal(await dbState(id), "credential");

      // A reload lands on the same step.
      await page.reload();
      await page.locator("[data-testid=view-credential]").waitFor({ state: "visible" });
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });

  test("an expired code is replaced by a new one without asking", {
    ...T,
    skip: !DB && "needs GUICHET_DATABASE_URL to make the code expire",
  }, async () => {
    const { context, page, problems } = await start();
    const phone = new Phone();
    try {
      const { id, challenge } = await toDeviceStep(page);
      const first = await decodeQr(await shootQr(page, "26-qr-before-expiry"));
      assert.ok(first.includes(`c=${challenge}&`), first);

      // The clock runs out (as if 3 minutes had passed).  A change made
      // behind the server's back wakes no long-poll, so say it the way the
      // server does when an enrolment changes.
      await psql("UPDATE device_challenges SET expires_at = now()"
                 + " WHERE enrolment_id = :'id' AND id = :'c';"
                 + " SELECT pg_notify('guichet_enrolment', :'id');", { id, c: challenge });

      const renewed = await shownChallenge(page, challenge);
      assert.notEqual(renewed, challenge);
      assert.match(await visibleText(page, "[data-testid=device-status]"),
                   /previous code expired\. A new code is shown/);
      assert.ok(countdownSeconds(await visibleText(page, "[data-testid=qr-countdown]")) > 150,
                "the countdown starts again");
      const png = await shootQr(page, "27-qr-renewed");
      const second = await decodeQr(png);
      assert.notEqual(second, first, "the image shows a new code");
      assert.ok(second.includes(`c=${renewed}&`), second);
      await screenshot(page, "28-device-renewed");

      // The new code works.
      const answer = await phone.activateQr(png);
      assert.equal(answer.status, "active", JSON.stringify(answer));
      await page.locator("#pin-panel").waitFor({ state: "visible", timeout: 15000 });
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });

  test("when the countdown runs out the page shows a new code by itself", T, async () => {
    const { context, page, problems } = await start();
    try {
      // The page's clock only: three minutes pass in an instant.
      await page.clock.install();
      const { challenge } = await toDeviceStep(page);
      await page.clock.fastForward("02:30");
      const left = countdownSeconds(await visibleText(page, "[data-testid=qr-countdown]"));
      assert.ok(left <= 30, `the countdown follows the clock, shows ${left} s`);
      await page.clock.fastForward("00:31");
      const renewed = await shownChallenge(page, challenge);
      assert.notEqual(renewed, challenge);
      assert.match(await visibleText(page, "[data-testid=device-status]"), /previous code expired/);
      assert.ok(countdownSeconds(await visibleText(page, "[data-testid=qr-countdown]")) > 150);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("an emulator goes to review; the page says so and moves on when it is decided", T, async () => {
    const { context, page, problems } = await start();
    const phone = new Phone({ device: { emulator: true } });
    try {
      const { id, challenge } = await toDeviceStep(page);

      // Switching language redraws the step but keeps the code.
      await page.click("[data-testid=lang-fr]");
      assert.match(await visibleText(page, "#qr-heading"), /Scannez ce code/);
      assert.equal(await page.getAttribute("#qr-img", "alt"), "QR code à scanner avec l'application Guichet");
      assert.match(await visibleText(page, "#qr-timer"), /Ce code est valable encore \d\d:\d\d/);
      assert.equal(await page.getAttribute("#qr", "data-challenge"), challenge);
      await page.click("[data-testid=lang-en]");

      // "Show a new code", from the keyboard.
      await page.focus("#qr-renew");
      await page.keyboard.press("Enter");
      const renewed = await shownChallenge(page, challenge);
      assert.match(await visibleText(page, "[data-testid=device-status]"), /^A new code is shown/);

      const png = await shootQr(page, "29-qr-emulator");
      assert.ok((await decodeQr(png)).includes(`c=${renewed}&`));
      const answer = await phone.activateQr(png);
      assert.equal(answer.status, "pending_review", JSON.stringify(answer));
      assert.ok(answer.risk.reasons.includes("emulator"), JSON.stringify(answer.risk));

      await page.locator("[data-testid=view-device-review]").waitFor({ state: "visible", timeout: 15000 });
      assert.match(await visibleText(page, "#device-review-heading"), /Your application is being reviewed/);
      assert.match(await visibleText(page, "[data-testid=view-device-review]"), /moves on by itself/);
      assert.equal(await activeId(page), "device-review-heading");
      assert.equal(await page.getAttribute("[data-testid=enrolment-state]", "data-state"), "device_review");
      assert.equal((await serverView(page, id)).body.state, "device_review");
      await screenshot(page, "30-device-review");
      await assertNoProblems(problems);

      if (!DB)
        return;
      // A reviewer approves (the back-office is a later issue: the database
      // change it makes stands in for it).  The page keeps asking and moves
      // on to the PIN by itself.
      await psql("UPDATE devices SET status = 'active' WHERE enrolment_id = :'id';"
                 + " UPDATE enrolments SET state = 'pin_otp', updated_at = now() WHERE id = :'id';"
                 + " SELECT pg_notify('guichet_enrolment', :'id');", { id });
      await page.locator("#pin-panel").waitFor({ state: "visible", timeout: 15000 });
      assert.equal(await activeId(page), "pin-heading");
      await screenshot(page, "31-review-approved");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });

  test("a phone refused after review ends on the refusal page", {
    ...T,
    skip: !DB && "needs GUICHET_DATABASE_URL to stand in for the reviewer",
  }, async () => {
    const { context, page, problems } = await start();
    const phone = new Phone({ device: { emulator: true } });
    try {
      const { id } = await toDeviceStep(page);
      const answer = await phone.activateQr(await shootQr(page, "32-qr-refused"));
      assert.equal(answer.status, "pending_review", JSON.stringify(answer));
      await page.locator("[data-testid=view-device-review]").waitFor({ state: "visible", timeout: 15000 });
      await psql("UPDATE devices SET status = 'denied' WHERE enrolment_id = :'id';"
                 + " UPDATE enrolments SET state = 'rejected', updated_at = now() WHERE id = :'id';"
                 + " SELECT pg_notify('guichet_enrolment', :'id');", { id });
      await page.locator("[data-testid=view-rejected]").waitFor({ state: "visible", timeout: 15000 });
      assert.match(await visibleText(page, "[data-testid=rejected-device]"), /cannot register this phone/);
      assert.equal(await page.locator("[data-testid=view-rejected] [data-testid=identity-decision]").count(), 0,
                   "the identity result is not shown as if it were the reason");
      assert.ok(await page.locator("[data-testid=restart-rejected]").isHidden());
      await screenshot(page, "33-device-refused");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });
});

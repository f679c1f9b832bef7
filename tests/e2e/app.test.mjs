// SPDX-License-Identifier: AGPL-3.0-or-later
//
// app.test.mjs -- the Guichet app (web/app/, served at /app/) in a real
// browser against a real guichetd (GUICHET_BASE_URL), as a customer uses
// it: the enrolment page on a desktop screen, the app on a phone screen,
// in two browsers.  The phone's browser films a video file with Chromium's
// fake camera (lib/camera.mjs, written with ffmpeg from a screenshot of
// the QR code), so the app reads the QR code through getUserMedia and its
// own decoder, as on a phone.
//   1. The app scans the enrolment page's QR code, shows what it tells
//      the bank, activates; the enrolment page moves on by itself and the
//      app's code confirms the binding.  After a reload the account and
//      its keys are still there (non-extractable, nothing in
//      localStorage).  A payment created through the API appears in the
//      app, which shows it in full -- with the customer's assurance code,
//      the one the enrolment page showed on completion, in the list and
//      in the payment -- and approves it: the relying party reads
//      approved with method signature.  Another is declined after a
//      reload.  With GUICHET_DATABASE_URL, a customer whose code is gone
//      gets a payment the app says not to approve.  Offline (the service worker serves the app), a payment's
//      QR code scanned from the camera gives the 8-digit code that
//      POST /v1/transactions/{id}/verify accepts.
//   2. On the phone itself, the enrolment page's "Open the Guichet app
//      directly" link hands the payload over in the fragment: a second
//      account, then removed.
// Each page passes the checks of the other browser tests: no CSP
// violation or script error, every field labelled, no sideways scrolling
// at 360 px.  Making the relying party's API key needs
// GUICHET_DATABASE_URL and GUICHET_MASTER_KEY_FILE (or GUICHET_CLI).
// Screenshots go to tests/artifacts/e2e/8*.png.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { adminCliProblem } from "./lib/backoffice.mjs";
import { ARTIFACTS, assertNoProblems, browserSuite, launch, openEnrolment, openPage,
         screenshot } from "./lib/browser.mjs";
import { CAMERA_ARGS, film, filmNothing, svgToPng } from "./lib/camera.mjs";
import { fits, PIN, shootQr, toDeviceStep, visibleText } from "./lib/enrolment.mjs";
import { createTransaction, readTransaction, relyingParty, startShop } from "./lib/payment.mjs";
import { psql } from "./lib/phone.mjs";

const T = { timeout: 240000 };
const PHONE = { width: 360, height: 740 };
const S = browserSuite();
const skip = adminCliProblem();
const phone = { browser: null, error: null };

before(async () => {
  try {
    await filmNothing();
    phone.browser = await launch(CAMERA_ARGS);
  } catch (e) {
    phone.error = e;
  }
});
after(async () => {
  if (phone.browser)
    await phone.browser.close();
});

// The app on the phone's browser, in a context of its own (its storage is
// the phone's), served with its own policies.  Every console error is
// kept (h.errors), except while h.offline is set: then failed requests
// are what a phone without network logs.
async function openApp () {
  if (S.error || phone.error)
    throw S.error || phone.error;
  const h = await openPage(phone.browser, { viewport: PHONE, locale: "en-GB" });
  h.errors = [];
  h.offline = false;
  h.page.on("console", (msg) => {
    if (msg.type() === "error" && !h.offline)
      h.errors.push(msg.text());
  });
  await gotoApp(h.page);
  return h;
}

async function gotoApp (page, path = "/app/") {
  const res = await page.goto(S.base + path);
  assert.equal(res.status(), 200);
  const headers = res.headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.match(headers["content-security-policy"], /require-trusted-types-for 'script'/);
  assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline|unsafe-eval/);
  assert.match(headers["permissions-policy"], /camera=\(self\)/);
  await page.locator("#view-home").waitFor({ state: "visible" });
  return res;
}

// The current code of the app's account deviceId (or the first), with
// at least 4 s left on it.
async function appCode (page, deviceId = null) {
  const sel = deviceId ? `[data-testid=code][data-device="${deviceId}"]` : "[data-testid=code]";
  await page.waitForFunction((s) => {
    const e = document.querySelector(s);
    return e && /^\d{6}$/.test(e.dataset.code || "");
  }, sel, { timeout: 10000 });
  const left = async () => Number((await page.locator(sel).locator("xpath=..")
    .locator(".account__timer").innerText()).replace(/\D/g, ""));
  if (await left() < 4)
    await page.waitForTimeout(5000);
  return page.getAttribute(sel, "data-code");
}

const everyFieldLabelled = (page) => page.$$eval("input, select, textarea",
  (els) => els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));

// What the app keeps, read from its IndexedDB and localStorage.
const kept = (page) => page.evaluate(async () => {
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("guichet-app");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => ko(r.error);
  });
  const all = await new Promise((ok) => {
    const g = db.transaction("accounts").objectStore("accounts").getAll();
    g.onsuccess = () => ok(g.result);
  });
  db.close();
  const out = [];
  for (const a of all) {
    let exported = false;
    try { await crypto.subtle.exportKey("jwk", a.signKey); exported = true; } catch (e) { /* expected */ }
    try { await crypto.subtle.exportKey("raw", a.txKey); exported = true; } catch (e) { /* expected */ }
    out.push({ deviceId: a.deviceId, status: a.status, customerId: a.customerId || null,
               keys: [a.signKey, a.totpKey, a.txKey].map((k) => k instanceof CryptoKey && !k.extractable),
               exported, ecdh: "ecdhKey" in a, secret: "secret" in a });
  }
  return { accounts: out, localStorage: Object.keys(localStorage) };
});

async function paymentQrPng (tx, rp, name) {
  const r = await fetch(`${S.base}/v1/transactions/${tx.id}/qr.svg`,
                        { headers: { Authorization: `Bearer ${rp.key}` } });
  assert.equal(r.status, 200);
  const svg = join(ARTIFACTS, `${name}.svg`);
  writeFileSync(svg, await r.text());
  return svgToPng(svg, join(ARTIFACTS, `${name}.png`));
}

async function openPayment (page, txId) {
  const item = page.locator(`[data-testid=payment-item][data-tx="${txId}"]`);
  await item.waitFor({ state: "visible", timeout: 45000 });
  await item.click();
  await page.locator("#view-payment").waitFor({ state: "visible" });
}

describe("the Guichet app", { skip: skip || false }, () => {
  test("scans the QR, activates, its code confirms the binding; approves, declines, and gives an offline code", T, async () => {
    const desk = await openEnrolment(S);
    const app = await openApp();
    const shop = await startShop();
    try {
      const { page } = app;
      assert.match(await visibleText(page, "#empty-heading"), /Add your bank account/);
      assert.ok(await fits(page), "no sideways scrolling at 360 px");
      await screenshot(page, "80-app-empty");

      // The enrolment page shows its QR code; the phone films it.
      const { id } = await toDeviceStep(desk.page);
      await film(await shootQr(desk.page, "81-app-enrol-qr"));
      await page.click("#add-account");
      await page.locator("#view-activate").waitFor({ state: "visible", timeout: 30000 });
      assert.equal(await visibleText(page, "[data-testid=activate-origin]"), S.base);
      const signals = await visibleText(page, "[data-testid=signals]");
      assert.match(signals, /Guichet web app/);
      assert.match(signals, /1\.0\.0/);
      assert.match(await visibleText(page, "#view-activate"), /cannot tell/);
      assert.ok(await fits(page));
      await screenshot(page, "82-app-activate");
      const t0 = Date.now();
      await page.click("#activate-confirm");
      await page.locator("#view-added").waitFor({ state: "visible", timeout: 20000 });
      assert.equal(await page.getAttribute("[data-testid=added-heading]", "data-status"), "active");

      // The enrolment page learns it by itself; the app's code confirms.
      await desk.page.locator("#pin-panel").waitFor({ state: "visible", timeout: 20000 });
      assert.ok(Date.now() - t0 < 15000, `the page moved on after ${Date.now() - t0} ms`);
      await page.click("#added-done");
      await desk.page.fill("#pin", PIN);
      await desk.page.fill("#pin-confirm", PIN);
      await desk.page.click("#pin-submit");
      await desk.page.locator("#otp-panel").waitFor({ state: "visible" });
      await desk.page.fill("#otp", await appCode(page));
      await desk.page.click("#otp-submit");
      await desk.page.locator("#credential-choose").waitFor({ state: "visible" });
      await desk.page.click("#kind-device");
      await desk.page.click("#credential-submit");
      await desk.page.locator("[data-testid=view-completed]").waitFor({ state: "visible" });
      // the internal id sits inside "technical identifier"; people see the
      // ten-digit reference
      const customerId = (await desk.page.locator("[data-testid=customer-id]").textContent()).trim();
      assert.match(customerId, /^cus_/);
      assert.match(await visibleText(desk.page, "[data-testid=customer-reference]"),
                   /^[1-9]\d{2} \d{3} \d{3} \d$/);
      assert.ok(id && customerId);
      // No code typed on the credential step: the bank drew one, shown once.
      const assurance = await visibleText(desk.page, "[data-testid=assurance-code]");
      assert.match(assurance, /^[A-HJ-NP-Z2-9]{6}$/);
      await screenshot(page, "83-app-code");

      // Reloaded, the app still has its account and keys; nothing secret
      // is in localStorage and no key can be read out.
      await gotoApp(page);
      await appCode(page);
      let k = await kept(page);
      assert.equal(k.accounts.length, 1);
      assert.deepEqual(k.accounts[0].keys, [true, true, true], "three non-extractable CryptoKeys");
      assert.equal(k.accounts[0].exported, false);
      assert.equal(k.accounts[0].ecdh, false, "the ECDH key is not kept");
      assert.equal(k.accounts[0].secret, false, "the activation secret is not kept");
      assert.deepEqual(k.localStorage.filter((key) => key !== "guichet.lang"), []);

      // A payment made through the API appears in the app and is approved.
      const rp = await relyingParty(shop.origin);
      const tx = await createTransaction(S.base, rp, customerId, { amount: "1234.50" });
      // the list already shows the customer's code with the payment
      const listed = page.locator(`[data-testid=payment-item][data-tx="${tx.id}"] [data-testid=payment-item-code]`);
      await listed.waitFor({ state: "visible", timeout: 45000 });
      assert.equal(await listed.getAttribute("data-code"), assurance);
      assert.equal(await listed.innerText(), `Security code ${assurance}`);
      await screenshot(page, "84a-app-pending");
      await openPayment(page, tx.id);
      // the code the enrolment page showed is the code the payment shows
      assert.equal(await page.getAttribute("[data-testid=pay-assurance-code]", "data-code"), assurance);
      assert.equal(await visibleText(page, "[data-testid=pay-assurance-code]"), assurance);
      assert.match(await visibleText(page, "[data-testid=pay-assurance]"),
                   new RegExp(`^Your security code: ${assurance}\\s[^]*do not approve\\.$`));
      assert.ok(await page.locator("[data-testid=pay-no-assurance]").isHidden());
      assert.equal(await visibleText(page, "[data-testid=pay-rp]"), rp.name);
      assert.match(await visibleText(page, "[data-testid=pay-amount]"), /^EUR\s1,234\.50$/);
      assert.equal(await visibleText(page, "[data-testid=pay-payee]"), "ACME SARL");
      assert.equal(await visibleText(page, "[data-testid=pay-iban]"), "FR76 3000 6000 0112 3456 7890 189");
      assert.match(await visibleText(page, "[data-testid=pay-expires]"), /0[45]:\d\d/);
      assert.ok(await fits(page));
      await screenshot(page, "84-app-payment");
      await page.click("#pay-approve");
      await page.locator("[data-testid=pay-status][data-outcome=approved]").waitFor({ timeout: 20000 });
      let seen = await readTransaction(S.base, rp, tx.id);
      assert.equal(seen.status, "approved");
      assert.equal(seen.method, "signature");
      await screenshot(page, "85-app-approved");

      // Another, declined after a reload.
      const tx2 = await createTransaction(S.base, rp, customerId, { payee_name: "Boulangerie Dupont" });
      await gotoApp(page);
      await openPayment(page, tx2.id);
      assert.equal(await visibleText(page, "[data-testid=pay-payee]"), "Boulangerie Dupont");
      assert.equal(await visibleText(page, "[data-testid=pay-assurance-code]"), assurance);
      await page.click("#lang-fr");
      assert.match(await visibleText(page, "[data-testid=pay-assurance]"),
                   new RegExp(`^Votre code de sécurité : ${assurance}\\s`));
      await page.click("#lang-en");
      await page.click("#pay-decline");
      await page.locator("[data-testid=pay-status][data-outcome=declined]").waitFor({ timeout: 20000 });
      assert.equal((await readTransaction(S.base, rp, tx2.id)).status, "declined");

      // A customer whose code the server cannot give (none kept): the
      // payment comes without one, and the app says not to approve it.
      if (process.env.GUICHET_DATABASE_URL) {
        await psql("UPDATE customer_contacts SET assurance_sealed = NULL WHERE customer_id = :'cus'",
                   { cus: customerId });
        const tx4 = await createTransaction(S.base, rp, customerId, { payee_name: "Look-alike Ltd" });
        await gotoApp(page);
        const bare = page.locator(`[data-testid=payment-item][data-tx="${tx4.id}"] [data-testid=payment-item-code]`);
        await bare.waitFor({ state: "visible", timeout: 45000 });
        assert.equal(await bare.getAttribute("data-code"), null);
        assert.match(await bare.innerText(), /No security code/);
        await openPayment(page, tx4.id);
        assert.ok(await page.locator("[data-testid=pay-assurance]").isHidden());
        assert.match(await visibleText(page, "[data-testid=pay-no-assurance]"),
                     /No security code came with this payment[^]*Do not approve it\./);
        await screenshot(page, "85b-app-no-assurance");
        await page.click("#pay-decline");
        await page.locator("[data-testid=pay-status][data-outcome=declined]").waitFor({ timeout: 20000 });
        assert.equal((await readTransaction(S.base, rp, tx4.id)).status, "declined");
      }

      // Offline: the service worker serves the app; the payment's QR code,
      // filmed, gives the code the relying party verifies.
      const tx3 = await createTransaction(S.base, rp, customerId, { amount: "42.00" });
      await film(await paymentQrPng(tx3, rp, "86-app-tx-qr"));
      app.offline = true;
      await app.context.setOffline(true);
      const res = await page.reload();
      assert.ok(res && res.fromServiceWorker(), "the app came from its service worker");
      await page.locator("#view-home").waitFor({ state: "visible" });
      await appCode(page);
      await page.click("#scan-payment");
      await page.locator("#pay-offline").waitFor({ state: "visible", timeout: 30000 });
      assert.match(await visibleText(page, "[data-testid=pay-amount]"), /^EUR\s42\.00$/);
      assert.equal(await visibleText(page, "[data-testid=pay-iban]"), "FR76 3000 6000 0112 3456 7890 189");
      assert.ok(await page.locator("[data-testid=response-code]").isHidden(), "shown, then asked");
      // a scanned QR code carries no assurance code: nothing is said of one
      assert.ok(await page.locator("[data-testid=pay-assurance]").isHidden());
      assert.ok(await page.locator("[data-testid=pay-no-assurance]").isHidden());
      assert.deepEqual(await everyFieldLabelled(page), []);
      await page.click("#pay-show-code");
      const code = await page.getAttribute("[data-testid=response-code]", "data-code");
      assert.match(code, /^\d{8}$/);
      assert.equal(await visibleText(page, "[data-testid=response-code]"), `${code.slice(0, 4)} ${code.slice(4)}`);
      await screenshot(page, "87-app-offline-code");
      await app.context.setOffline(false);
      await page.reload();
      await page.locator("#view-home").waitFor({ state: "visible" });
      app.offline = false;
      const v = await fetch(`${S.base}/v1/transactions/${tx3.id}/verify`, {
        method: "POST", body: JSON.stringify({ response: code }),
        headers: { Authorization: `Bearer ${rp.key}`, "Content-Type": "application/json" },
      });
      assert.equal(v.status, 200, await v.text());
      seen = await readTransaction(S.base, rp, tx3.id);
      assert.equal(seen.status, "approved");
      assert.equal(seen.method, "response_code");

      await assertNoProblems(app.problems);
      await assertNoProblems(desk.problems);
      assert.deepEqual(app.errors, [], "no console error in the app");
    } finally {
      await shop.close();
      await desk.context.close();
      await app.context.close();
    }
  });

  test("on the phone itself the enrolment page's link adds accounts; each can be removed", T, async () => {
    const app = await openApp();
    try {
      const { page, context } = app;
      const devices = [];
      for (const n of [1, 2]) {
        // The enrolment page on the phone, in the same browser as the app.
        const enrol = await context.newPage();
        const res = await enrol.goto(S.base + "/");
        assert.equal(res.status(), 200);
        await enrol.locator("#view-form").waitFor({ state: "visible" });
        await toDeviceStep(enrol);
        const href = await enrol.getAttribute("#qr-link", "href");
        assert.match(href, /^\/app\/#guichet:\/\/activate\?v=1&/);
        await enrol.click("#qr-link");
        await enrol.locator("#view-activate").waitFor({ state: "visible", timeout: 20000 });
        assert.equal(new URL(enrol.url()).hash, "", "the payload left the address bar at once");
        assert.equal(new URL(enrol.url()).pathname, "/app/");
        await enrol.click("#activate-confirm");
        await enrol.locator("#view-added").waitFor({ state: "visible", timeout: 20000 });
        assert.equal(await enrol.getAttribute("[data-testid=added-heading]", "data-status"), "active");
        // Back on the bank's page, the enrolment has moved on.
        await enrol.goto(S.base + "/");
        await enrol.locator("#pin-panel").waitFor({ state: "visible", timeout: 20000 });
        await enrol.close();
        await gotoApp(page);
        await page.waitForFunction((k) => document.querySelectorAll("[data-testid=code]").length === k,
                                   n, { timeout: 10000 });
        // the account this round added (the app lists accounts in an order
        // of its own, not necessarily the order they were added in)
        const added = (await kept(page)).accounts.map((a) => a.deviceId)
          .filter((d) => !devices.includes(d));
        assert.equal(added.length, 1, "one new account");
        devices.push(added[0]);
      }
      assert.equal(new Set(devices).size, 2);
      const codes = [await appCode(page, devices[0]), await appCode(page, devices[1])];
      assert.ok(codes.every((c) => /^\d{6}$/.test(c)));
      assert.ok(await fits(page));
      await screenshot(page, "88-app-two-accounts");

      // In French, then the first account goes.
      await page.click("#lang-fr");
      assert.equal(await visibleText(page, "#home-heading"), "Vos comptes");
      await page.locator(`.account[data-device="${devices[0]}"] [data-testid=remove]`).click();
      await page.locator("#view-remove").waitFor({ state: "visible" });
      assert.match(await visibleText(page, "#remove-heading"), /Retirer ce compte/);
      await page.click("#remove-confirm");
      await page.waitForFunction(() => document.querySelectorAll(".account").length === 1);
      await gotoApp(page);
      const k = await kept(page);
      assert.deepEqual(k.accounts.map((a) => a.deviceId), [devices[1]]);
      assert.equal(await page.locator(`.account[data-device="${devices[1]}"] [data-testid=code]`).count(), 1);
      await assertNoProblems(app.problems);
      assert.deepEqual(app.errors, [], "no console error in the app");
    } finally {
      await app.context.close();
    }
  });
});

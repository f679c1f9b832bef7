// SPDX-License-Identifier: AGPL-3.0-or-later
//
// approve.test.mjs -- the hosted payment approval page in a real browser
// against a real guichetd (GUICHET_BASE_URL), with the reference
// authenticator (build/authenticator/guichet-authenticator) as the phone.
//
// A relying party (an API key whose origin is a small shop server of the
// test's own) creates a payment for a customer enrolled with the phone,
// and Chromium opens approval_url on a phone-sized screen.  The page must
// show the relying party, the amount in the payer's language, the payee
// and the IBAN in groups of four; the QR code is screenshotted and decoded
// with zbarimg, and must be exactly the qr_payload the relying party got.
//   - online: the phone approves from the decoded QR; the page says so by
//     itself (long poll) and lands on return_url?transaction=<id>;
//   - offline, in French: the phone shows its 8-digit code, a wrong one is
//     typed first (attempts left shown), then the right one;
//   - expired: a second guichetd with tx_ttl_s = 4 s; the page says the
//     request expired and offers nothing to approve.
// Making the API key needs GUICHET_DATABASE_URL and GUICHET_MASTER_KEY_FILE
// (or GUICHET_CLI); without them the tests are skipped.  Screenshots go to
// tests/artifacts/e2e/6*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { adminCliProblem } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { fits, shootQr, visibleText } from "./lib/enrolment.mjs";
import { createTransaction, customerWithPhone, readTransaction, relyingParty,
         startGuichetd, startShop } from "./lib/payment.mjs";
import { decodeQr } from "./lib/phone.mjs";

const T = { timeout: 120000 };
const PHONE = { width: 360, height: 740 };
const S = browserSuite();
const skip = adminCliProblem();

async function open (url, opts) {
  if (S.error)
    throw S.error;
  const h = await openPage(S.browser, { viewport: PHONE, ...opts });
  const res = await h.page.goto(url);
  assert.equal(res.status(), 200);
  const csp = res.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  return h;
}

// The QR as a phone's camera reads it, once its image has loaded.
async function scan (page, name) {
  await page.waitForFunction(() => {
    const img = document.getElementById("qr-img");
    return img && !img.hidden && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 20000 });
  return decodeQr(await shootQr(page, name));
}

describe("payment approval page", { skip: skip || false }, () => {
  test("the phone scans the QR and approves; the page says so and returns to the shop", T, async () => {
    const shop = await startShop();
    const { customerId, phone } = await customerWithPhone(S.base || process.env.GUICHET_BASE_URL);
    const rp = await relyingParty(shop.origin);
    const tx = await createTransaction(S.base, rp, customerId,
                                       { return_url: `${shop.origin}/done?order=1` });
    const { context, page, problems } = await open(tx.approval_url, { locale: "en-GB" });
    try {
      assert.match(await visibleText(page, "#page-title"), /Approve a payment/);
      assert.equal(await visibleText(page, "[data-testid=relying-party]"), rp.name);
      const amount = await visibleText(page, "[data-testid=amount]");
      assert.match(amount, /EUR\s*125\.00/, amount);
      assert.equal(await visibleText(page, "[data-testid=payee-name]"), "ACME SARL");
      assert.equal(await visibleText(page, "[data-testid=payee-iban]"),
                   "FR76 3000 6000 0112 3456 7890 189");
      assert.equal(await page.getAttribute("[data-testid=status]", "data-status"), "pending");
      const left = await visibleText(page, "[data-testid=countdown]");
      assert.match(left, /^0[45]:\d\d$/, `about 5 minutes left, got ${left}`);
      assert.equal(await page.getAttribute("#app-link", "href"), tx.qr_payload);
      assert.ok(await fits(page), "no sideways scrolling at 360 px");
      await screenshot(page, "60-approve-pending");

      // The phone's camera: the code on the screen is the relying party's payload.
      const payload = await scan(page, "61-approve-qr");
      assert.equal(payload, tx.qr_payload);
      const t0 = Date.now();
      const answer = await phone.cli("tx", "approve", payload, "--yes");
      assert.equal(answer.status, "approved", JSON.stringify(answer));
      assert.equal(answer.shown.payee_name, "ACME SARL");

      // The page learns it by itself, says it, and goes back to the shop.
      await page.locator("#outcome[data-status=approved]").waitFor({ timeout: 15000 });
      assert.ok(Date.now() - t0 < 10000, `the page moved on after ${Date.now() - t0} ms`);
      assert.match(await visibleText(page, "[data-testid=outcome]"), /Payment approved/);
      assert.ok(await page.locator("#view-pending").isHidden());
      await screenshot(page, "62-approve-approved");
      const back = `${shop.origin}/done?order=1&transaction=${tx.id}`;
      assert.equal(await page.getAttribute("[data-testid=return-link]", "href"), back);
      await assertNoProblems(problems);
      await page.waitForURL(back, { timeout: 15000 });
      assert.ok(shop.hits.includes(`/done?order=1&transaction=${tx.id}`), shop.hits.join(","));
      const seen = await readTransaction(S.base, rp, tx.id);
      assert.equal(seen.status, "approved");
      assert.equal(seen.method, "signature");
    } finally {
      await context.close();
      phone.close();
      await shop.close();
    }
  });

  test("a phone without network: its code, typed on the page (in French)", T, async () => {
    const shop = await startShop();
    const { customerId, phone } = await customerWithPhone(S.base || process.env.GUICHET_BASE_URL);
    const rp = await relyingParty(shop.origin);
    const tx = await createTransaction(S.base, rp, customerId,
                                       { amount: "1250.50", return_url: `${shop.origin}/back` });
    const { context, page, problems } = await open(tx.approval_url, { locale: "fr-FR" });
    try {
      assert.match(await visibleText(page, "#page-title"), /Valider un paiement/);
      assert.equal(await page.evaluate(() => document.documentElement.lang), "fr");
      const amount = await visibleText(page, "[data-testid=amount]");
      assert.match(amount, /^1\s250,50\s*EUR$/, amount);
      assert.equal(await scan(page, "63-approve-qr-fr"), tx.qr_payload);
      const { response_code: code } = await phone.cli("tx", "code", tx.qr_payload, "--yes");
      assert.match(code, /^\d{8}$/);

      // Not 8 digits: said at once, nothing sent.
      await page.fill("#code", "1234");
      await page.click("#code-submit");
      assert.match(await visibleText(page, "#code-error"), /8 chiffres/);
      // A wrong code: the attempts left.
      const wrong = String((Number(code) + 1) % 100000000).padStart(8, "0");
      await page.fill("#code", wrong);
      await page.click("#code-submit");
      await page.locator("#code-error").filter({ hasText: /Encore 4 essais/ }).waitFor();
      assert.equal(await page.getAttribute("#code", "aria-invalid"), "true");
      await screenshot(page, "64-approve-wrong-code");

      await page.fill("#code", code);
      await page.press("#code", "Enter");
      await page.locator("#outcome[data-status=approved]").waitFor({ timeout: 15000 });
      assert.match(await visibleText(page, "[data-testid=outcome]"), /Paiement validé/);
      await screenshot(page, "65-approve-code-approved");
      await assertNoProblems(problems);
      await page.waitForURL(`${shop.origin}/back?transaction=${tx.id}`, { timeout: 15000 });
      const seen = await readTransaction(S.base, rp, tx.id);
      assert.equal(seen.status, "approved");
      assert.equal(seen.method, "response_code");
    } finally {
      await context.close();
      phone.close();
      await shop.close();
    }
  });

  test("an expired request says so and offers nothing to approve", T, async () => {
    const shop = await startShop();
    const { customerId, phone } = await customerWithPhone(S.base || process.env.GUICHET_BASE_URL);
    const rp = await relyingParty(shop.origin);
    const short = await startGuichetd({ GUICHET_TX_TTL_S: "4" });
    try {
      const tx = await createTransaction(short.base, rp, customerId,
                                         { return_url: `${shop.origin}/back` });
      const { context, page, problems } = await open(tx.approval_url, { locale: "en-GB" });
      try {
        await page.locator("[data-testid=view-pending]").waitFor();
        await page.locator("#outcome[data-status=expired]").waitFor({ timeout: 15000 });
        assert.match(await visibleText(page, "[data-testid=outcome]"), /expired/);
        assert.ok(await page.locator("#view-pending").isHidden(), "nothing left to approve");
        assert.ok(await page.locator("#qr-img").isHidden());
        assert.ok(await page.locator("#code").isHidden());
        assert.match(await visibleText(page, "[data-testid=return-link]"), new RegExp(rp.name));
        await screenshot(page, "66-approve-expired");
        // a phone that tries anyway is told the same
        await assert.rejects(phone.cli("tx", "approve", tx.qr_payload, "--yes"), /expired/);
        await assertNoProblems(problems);
        assert.equal(shop.hits.length, 0, "an expired request does not leave by itself");
      } finally {
        await context.close();
      }
    } finally {
      short.stop();
      phone.close();
      await shop.close();
    }
  });

  test("a link without its secret leads nowhere", T, async () => {
    const { context, page, problems } = await open(`${S.base}/approve/#not-a-secret`);
    try {
      await page.locator("[data-testid=view-nolink]").waitFor();
      assert.ok(await page.locator("[data-testid=payment]").isHidden());
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

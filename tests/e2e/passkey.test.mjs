// SPDX-License-Identifier: AGPL-3.0-or-later
//
// passkey.test.mjs -- passkeys in a real browser: Chromium's virtual
// authenticator (DevTools protocol WebAuthn domain: ctap2, internal, with
// user verification) stands for the laptop's fingerprint reader.
//
// The pages run on http://localhost:<port>: browsers refuse an IP address
// as a relying party id, so tests/run_all starts guichetd with
// webauthn_rp_id = localhost, webauthn_origins = http://localhost:<port>
// and the /signin/ demonstration on.  A fresh applicant is taken to state
// "credential" (lib/enrolment.mjs), registers "this computer", completes
// with the phone, then signs in on /signin/ by customer reference and by
// a discoverable credential.  Then the authenticator stops verifying the
// user (isUserVerified false): refused, nothing accepted; then it signs
// with a bogus signature (setResponseOverrideBits): refused by the server,
// counted toward the lockout.  Needs GUICHET_DATABASE_URL for the checks
// in the database.  Screenshots: tests/artifacts/e2e/6*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { toCredentialStep, visibleText } from "./lib/enrolment.mjs";
import { Phone, psql } from "./lib/phone.mjs";

const T = { timeout: 120000 };
const S = browserSuite();

// The server's address with the host browsers accept as an rp id.
const local = () => S.base.replace("://127.0.0.1:", "://localhost:");

// A platform authenticator with user verification on @a page.
async function virtualAuthenticator (context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true,
               hasUserVerification: true, isUserVerified: true,
               automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

// Signs in on /signin/ (customer reference @a ref, or none); @return the
// result box's data-result and customer shown.
async function signIn (page, ref) {
  await page.fill("#customer-ref", ref || "");
  await page.click("#signin-submit");
  await page.locator("[data-testid=signin-result]").waitFor({ state: "visible", timeout: 30000 });
  return {
    result: await page.getAttribute("[data-testid=signin-result]", "data-result"),
    customer: (await page.locator("[data-testid=result-customer]").innerText()).trim(),
  };
}

const one = async (sql, vars) => (await psql(sql, vars)).split("|");

describe("passkeys", () => {
  test("register this computer during enrolment, sign in, and the refusals", T, async (t) => {
    if (S.error)
      throw S.error;
    if (!process.env.GUICHET_DATABASE_URL)
      return t.skip("GUICHET_DATABASE_URL is not set");
    const { context, page, problems } = await openPage(S.browser);
    const phone = new Phone();
    try {
      const res = await page.goto(local() + "/");
      assert.equal(res.status(), 200);
      await page.locator("#view-form").waitFor({ state: "visible" });
      const { cdp, authenticatorId } = await virtualAuthenticator(context, page);
      const id = await toCredentialStep(page, phone, "60-qr");

      // The offer: optional, explained, on the credential step.
      const block = page.locator("[data-testid=passkey-credential]");
      await block.waitFor({ state: "visible" });
      assert.match(await block.innerText(), /fingerprint or face never leaves the computer/);
      assert.match(await block.innerText(), /optional/);
      await screenshot(page, "61-passkey-offer");
      await page.click("#passkey-add-cred");
      await page.locator("#passkey-status-cred[data-state=done]").waitFor({ timeout: 30000 });
      assert.match(await visibleText(page, "#passkey-status-cred"), /This computer is registered/);
      const [status, owner] = await one("SELECT status, coalesce(customer_id, '-') FROM passkeys"
                                        + " WHERE enrolment_id = :'e'", { e: id });
      assert.deepEqual([status, owner], ["pending", "-"]);
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      assert.equal(credentials.length, 1);
      assert.equal(credentials[0].rpId, "localhost");

      // Complete with the phone: the passkey becomes the customer's.
      await page.check("#kind-device");
      await page.click("#credential-submit");
      await page.locator("[data-testid=view-completed]").waitFor({ state: "visible", timeout: 15000 });
      // The internal id (the sign-in demo's key), behind "technical identifier".
      const customer = (await page.locator("[data-testid=customer-id]").textContent()).trim();
      assert.equal((await psql("SELECT status || ' ' || customer_id FROM passkeys"
                               + " WHERE enrolment_id = :'e'", { e: id })),
                   `active ${customer}`);
      assert.equal(await page.getAttribute("#passkey-status-done", "data-state"), "done",
                   "the last page knows this computer is registered");
      await screenshot(page, "62-completed-with-passkey");

      // Sign in on the demonstration page, by reference then discoverable.
      await page.goto(local() + "/signin/");
      await page.locator("#signin-form").waitFor({ state: "visible" });
      let r = await signIn(page, customer);
      assert.deepEqual(r, { result: "accepted", customer });
      await screenshot(page, "63-signed-in");
      r = await signIn(page, "");
      assert.deepEqual(r, { result: "accepted", customer });
      const count = Number(await psql("SELECT sign_count FROM passkeys WHERE customer_id = :'c'",
                                      { c: customer }));
      assert.ok(count >= 1, `the counter moved: ${count}`);

      // The authenticator no longer verifies the user: nothing accepted.
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
      r = await signIn(page, customer);
      assert.notEqual(r.result, "accepted");
      await screenshot(page, "64-no-user-verification");
      assert.equal(Number(await psql("SELECT sign_count FROM passkeys WHERE customer_id = :'c'",
                                     { c: customer })), count, "no sign-in went through");
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });

      // A bogus signature reaches the server, which refuses and counts it.
      await cdp.send("WebAuthn.setResponseOverrideBits",
                     { authenticatorId, isBogusSignature: true });
      const before = Number(await psql("SELECT failed_attempts FROM customers WHERE id = :'c'",
                                       { c: customer }));
      r = await signIn(page, customer);
      assert.equal(r.result, "refused");
      assert.match(await visibleText(page, "#result-text"), /not accepted/);
      assert.deepEqual(await one("SELECT outcome, (SELECT failed_attempts FROM customers"
                                 + " WHERE id = :'c') FROM authn_audit WHERE customer_id = :'c'"
                                 + " AND action = 'passkey' ORDER BY id DESC LIMIT 1",
                                 { c: customer }),
                       ["signature_invalid", String(before + 1)]);
      await screenshot(page, "65-bogus-signature");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });
});

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// assist.test.mjs -- assisted enrolment in two browser contexts side by
// side against a real guichetd (GUICHET_BASE_URL): the applicant asks for
// help on the QR step, ticks what the advisor may see and reads out the
// code shown in large digits; the advisor, signed in to the back-office,
// types that code on the Assist page and follows; the advisor sees the
// step change when the applicant's phone registers, sends a hint the
// applicant sees beside the step; the applicant presses Stop and the
// advisor's page says the session ended.  No Content-Security-Policy
// violation or script error on either page.
//
// Needs a staff account made with `guichetd admin create` (GUICHET_CLI,
// or GUICHET_DATABASE_URL + GUICHET_MASTER_KEY_FILE: lib/backoffice.mjs)
// and the reference authenticator as the phone; without an account the
// test is skipped.  Screenshots go to tests/artifacts/e2e/ ("as-…").

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, openEnrolment, openPage, screenshot } from "./lib/browser.mjs";
import { adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { shootQr, toDeviceStep, visibleText } from "./lib/enrolment.mjs";
import { applicant } from "./lib/mrz.mjs";
import { Phone } from "./lib/phone.mjs";

const T = { timeout: 180000 };
const NEEDS_ADMIN = adminCliProblem();
const suite = browserSuite();

// The advisor's page: the back-office, signed in, on #/assist.
async function advisorPage (advisor) {
  const h = await openPage(suite.browser);
  const res = await h.page.goto(`${suite.base}/backoffice/`);
  assert.equal(res.status(), 200);
  await signIn(h.page, advisor);
  await h.page.locator("[data-testid=view-assist]").waitFor({ state: "visible" });
  return h;
}

describe("assisted enrolment", () => {
  test("an advisor follows with the applicant's code, sends a hint, and the applicant stops it", {
    ...T, skip: NEEDS_ADMIN || false,
  }, async () => {
    if (suite.error)
      throw suite.error;
    // The advisor signs in first: a fresh TOTP step may take a while, and
    // the applicant's session idles out quickly in this harness.
    const advisor = await createAdmin("advisor");
    const bo = await advisorPage(advisor);
    const app = await openEnrolment(suite);
    const phone = new Phone();
    const ap = app.page;
    const bp = bo.page;
    try {
      assert.equal(await bp.evaluate(() => location.hash), "#/assist", "an advisor starts on Assist");
      assert.equal(await bp.locator("#nav-reviews").isVisible(), false);
      assert.equal(await bp.locator("#nav-audit").isVisible(), false);

      // --- The applicant is on the QR step and asks for help.
      const who = applicant();
      const { id } = await toDeviceStep(ap, who);
      await ap.click("#assist-open");
      await ap.locator("[data-testid=assist-consent]").waitFor({ state: "visible" });
      assert.equal(await ap.isChecked("#assist-scope-progress"), true);
      assert.equal(await ap.isDisabled("#assist-scope-progress"), true, "progress is always shared");
      assert.equal(await ap.isChecked("#assist-scope-identity"), false, "nothing more unless ticked");
      await ap.check("#assist-scope-identity");
      await screenshot(ap, "as-01-consent");
      await ap.click("#assist-request");
      const shown = await visibleText(ap, "[data-testid=assist-code]");
      const code = shown.replace(/\s/g, "");
      assert.match(code, /^[0-9]{6}$/, `the code in large digits: ${shown}`);
      const size = await ap.$eval("[data-testid=assist-code]",
                                  (e) => parseFloat(getComputedStyle(e).fontSize));
      assert.ok(size >= 32, `the code is large (${size}px)`);
      await screenshot(ap, "as-02-code");

      // --- The advisor types the code the applicant read out.
      await bp.fill("#assist-code-input", code);
      await bp.click("#assist-join");
      await bp.locator("[data-testid=assist-live]").waitFor({ state: "visible", timeout: 15000 });
      await bp.locator("[data-testid=assist-state][data-state=device]").waitFor({ timeout: 15000 });
      await bp.locator("[data-testid=assist-qr][data-status=shown]").waitFor({ timeout: 15000 });
      assert.match(await visibleText(bp, "#assist-following"), new RegExp(id));
      assert.match(await visibleText(bp, "#assist-identity-facts"), new RegExp(who.surname));
      assert.equal(await bp.locator("#assist-device").isVisible(), false, "device was not ticked");
      await screenshot(bp, "as-03-advisor-follows");

      // --- The applicant sees who follows, and a Stop button.
      await ap.locator("[data-testid=assist-banner]").waitFor({ state: "visible", timeout: 15000 });
      assert.match(await visibleText(ap, "[data-testid=assist-who]"), new RegExp(advisor.username));
      assert.equal(await ap.locator("[data-testid=assist-code-panel]").isVisible(), false);

      // --- A hint reaches the applicant's page, beside the QR step.
      const hint = "Open the Guichet app, choose “Add this phone” and scan the code.";
      await bp.fill("#assist-hint-text", hint);
      await bp.click("#assist-hint-send");
      await bp.locator("[data-testid=assist-hint-sent]").first().waitFor({ timeout: 15000 });
      const seen = ap.locator("#view-device [data-testid=assist-hints-device] [data-testid=assist-hint]");
      await seen.first().waitFor({ state: "visible", timeout: 15000 });
      assert.equal((await seen.first().innerText()).trim(), hint);
      await screenshot(ap, "as-04-hint");

      // --- The applicant moves on: the phone scans the QR code; the
      //     advisor sees the PIN step without reloading.
      const answer = await phone.activateQr(await shootQr(ap, "as-qr"));
      assert.equal(answer.status, "active", JSON.stringify(answer));
      await ap.locator("#pin-panel").waitFor({ state: "visible", timeout: 20000 });
      await bp.locator("[data-testid=assist-state][data-state=pin_otp]").waitFor({ timeout: 15000 });
      await screenshot(bp, "as-05-advisor-sees-pin-step");

      // --- Stop: the advisor's page says the session ended.
      await ap.click("#assist-stop");
      await ap.locator("[data-testid=assist-note]").waitFor({ state: "visible", timeout: 10000 });
      assert.equal(await ap.locator("[data-testid=assist-banner]").isVisible(), false);
      await bp.locator("[data-testid=assist-ended]").waitFor({ state: "visible", timeout: 15000 });
      assert.match(await bp.locator("[data-testid=assist-ended]").innerText(),
                   /the applicant stopped it/);
      assert.equal(await bp.locator("#assist-hint-form").isVisible(), false);
      await screenshot(bp, "as-06-advisor-ended");
      await screenshot(ap, "as-06-applicant-stopped");

      await assertNoProblems(app.problems);
      await assertNoProblems(bo.problems);
    } finally {
      phone.close();
      await app.context.close();
      await bo.context.close();
    }
  });

  test("the help panel speaks French and asks nothing before the applicant does", T, async () => {
    const app = await openEnrolment(suite);
    const ap = app.page;
    const requests = [];
    ap.on("request", (r) => { if (r.url().includes("/assist")) requests.push(r.url()); });
    try {
      await toDeviceStep(ap);
      await ap.locator("#assist-open").waitFor({ state: "visible" });
      await ap.click("[data-testid=lang-fr]");
      assert.equal(await visibleText(ap, "#assist-open"), "Être aidé par un conseiller");
      await ap.click("#assist-open");
      assert.equal(await visibleText(ap, "label[for=assist-scope-device]"),
                   "La vérification de sécurité de votre téléphone");
      await screenshot(ap, "as-07-consent-fr");
      await ap.click("#assist-cancel-consent");
      assert.equal(await ap.locator("[data-testid=assist-consent]").isVisible(), false);
      assert.deepEqual(requests, [], "no help request unless the applicant asks");
      await ap.click("[data-testid=lang-en]");
      await assertNoProblems(app.problems);
    } finally {
      await app.context.close();
    }
  });
});

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// assurance.test.mjs -- the customer's assurance code on the enrolment
// page, in a real browser against a real guichetd (GUICHET_BASE_URL).
//
// A fresh applicant reaches the credential step with the reference
// authenticator as the phone (lib/enrolment.mjs), types a code that cannot
// be one (the error is said next to the field and nothing is sent), then
// a good one in lower case; the completion page shows it in capitals, as
// the server's answer carries it; a reload no longer shows it (it is shown
// once, kept nowhere in the browser).  With GUICHET_DATABASE_URL, the
// database holds it only sealed, bound to the customer, and the welcome
// message is queued for them.  Screenshots go to tests/artifacts/e2e/6*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, openEnrolment, screenshot } from "./lib/browser.mjs";
import { toCredentialStep, visibleText } from "./lib/enrolment.mjs";
import { Phone, psql } from "./lib/phone.mjs";

const T = { timeout: 90000 };
const S = browserSuite();

describe("assurance code", () => {
  test("the code chosen on the credential step is shown once on the completion page", T, async () => {
    const { context, page, problems } = await openEnrolment(S, {});
    const phone = new Phone();
    try {
      const id = await toCredentialStep(page, phone, "60-qr");
      assert.match(await visibleText(page, "label[for=assurance-code]"), /security code \(optional\)/);
      await page.check("#kind-device");

      // not a code: said next to the field, nothing sent
      const posted = [];
      page.on("request", (r) => { if (r.url().endsWith("/assurance-code")) posted.push(r); });
      await page.fill("#assurance-code", "K7F2Q0");
      await page.click("#credential-submit");
      assert.match(await visibleText(page, "#assurance-code-error"), /6 characters/);
      assert.equal(await page.getAttribute("#assurance-code", "aria-invalid"), "true");
      assert.equal(posted.length, 0);
      assert.equal(await page.evaluate(() => document.activeElement.id), "assurance-code");
      await screenshot(page, "61-assurance-error");

      // a good one, in lower case with a space
      await page.fill("#assurance-code", "k7f 2q9");
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST"
                             && new URL(r.url()).pathname.endsWith("/credential")),
        page.click("#credential-submit"),
      ]);
      const answer = await res.json();
      assert.equal(res.status(), 201, JSON.stringify(answer));
      assert.equal(answer.assurance_code, "K7F2Q9");
      assert.equal(JSON.parse(posted[0].postData()).code, "K7F2Q9");
      await page.locator("[data-testid=view-completed]").waitFor({ state: "visible", timeout: 15000 });
      assert.equal(await visibleText(page, "[data-testid=assurance-code]"), "K7F2Q9");
      assert.match(await visibleText(page, "[data-testid=completed-assurance]"),
                   /Every message from the bank ends with this code/);
      await page.click("[data-testid=lang-fr]");
      assert.match(await visibleText(page, "#assurance-label"), /Votre code de sécurité/);
      await page.click("[data-testid=lang-en]");
      await screenshot(page, "62-assurance-shown");

      // kept nowhere in the browser: a reload no longer shows it
      const stored = await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage));
      assert.ok(!stored.includes("K7F2Q9"), stored);
      await page.reload();
      await page.locator("[data-testid=view-completed]").waitFor({ state: "visible" });
      assert.ok(await page.locator("[data-testid=completed-assurance]").isHidden());
      assert.match(await visibleText(page, "[data-testid=completed-assurance-gone]"), /was shown when you finished/);

      if (process.env.GUICHET_DATABASE_URL) {
        const row = await psql("SELECT c.assurance_set_by, position('K7F2Q9'::bytea IN c.assurance_sealed),"
          + " (SELECT count(*) FROM outbox o WHERE o.customer_id = c.customer_id AND o.kind = 'welcome')"
          + " FROM customer_contacts c WHERE c.customer_id = :'cus'", { cus: answer.customer_id });
        assert.equal(row, "applicant|0|1");
        assert.equal(await psql("SELECT assurance_sealed IS NULL FROM enrolments WHERE id = :'id'", { id }), "t");
      }
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });
});

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// queue.test.mjs -- working the review queue in a real browser against a
// real guichetd (issue 14): sanctions and four-eyes reviews are marked in
// words and can be shown alone or first; the queue is searched by e-mail;
// a reviewer takes a review ("Assign to me"), asks the applicant a
// question (the third decision: an e-mail through the outbox, the review
// stays open and the enrolment waits), and goes on to the next review.
// Checked in the database and the audit log.  Needs GUICHET_DATABASE_URL
// and an admin CLI (lib/backoffice.mjs), else skipped.  Screenshots:
// tests/artifacts/e2e/bo-95*.png to bo-99*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { applicant, td3 } from "./lib/mrz.mjs";
import { psql } from "./lib/phone.mjs";

const T = { timeout: 120000 };
const SKIP = adminCliProblem() || (process.env.GUICHET_DATABASE_URL ? null : "no database");
const S = browserSuite();

async function enrol (a, mrz = a.mrz) {
  const r = await fetch(`${S.base}/v1/enrolments`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ applicant: { given_names: a.givenNames, surname: a.surname,
                                        birth_date: a.birthDate, nationality: a.nationality,
                                        residence_country: a.residence, email: a.email,
                                        phone: a.phone },
                           document: { mrz } }),
  });
  assert.equal(r.status, 201);
  const e = await r.json();
  assert.equal(e.state, "identity_review");
  return { eid: e.id, rid: await psql(`SELECT id FROM reviews WHERE enrolment_id = '${e.id}'`) };
}

// A name mismatch: the document says another surname.
function mismatch () {
  const a = applicant();
  return { a, mrz: td3({ surname: a.surname + "x", givenNames: a.givenNames,
                         nationality: a.nationality, birthDate: a.birthDate, sex: "F",
                         expiryDate: a.expiryDate, documentNumber: a.documentNumber }) };
}

const row = (page, rid) => page.locator(`tr[data-review-id="${rid}"]`);

async function loaded (page) {
  await page.locator("#queue-table[aria-busy=false]").waitFor({ timeout: 15000 });
}

describe("back-office queue work", () => {
  test("marks, filters, search, assign, ask the applicant, next review", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const sanc = await enrol(applicant({ surname: "Islambouli", givenNames: "Mohammad Shawqi",
                                         birthDate: "1955-01-15", nationality: "EGY" }));
    const m = mismatch();
    const plain = await enrol(m.a, m.mrz);
    const o = mismatch();
    const other = await enrol(o.a, o.mrz);     // so there is a next review
    const reviewer = await createAdmin("reviewer");
    const { page, context, problems } = await openPage(S.browser, {});
    try {
      await page.goto(`${S.base}/backoffice/#/reviews`);
      await signIn(page, reviewer);
      await loaded(page);
      const marks = await row(page, sanc.rid).locator("[data-testid=row-marks]").innerText();
      assert.match(marks, /Sanctions/);
      assert.match(marks, /Four eyes/);
      assert.equal((await row(page, sanc.rid).locator("td").nth(1).innerText()).trim(), "",
                   "an identity review has no score, not a dash");
      // sanctions only
      await page.selectOption("#filter-needs", "sanctions");
      await page.waitForFunction((rid) => !document.querySelector(`tr[data-review-id="${rid}"]`)
        && document.getElementById("queue-table").getAttribute("aria-busy") === "false", plain.rid);
      await row(page, sanc.rid).waitFor();
      assert.match(page.url(), /needs=sanctions/);
      await screenshot(page, "bo-95-queue-sanctions");
      // sanctions first, among everything
      await page.selectOption("#filter-needs", "");
      await page.selectOption("#filter-sort", "sanctions");
      await loaded(page);
      await row(page, plain.rid).waitFor();
      const order = await page.locator("tr[data-review-id]").evaluateAll(
        (rows) => rows.map((r) => r.querySelector("[data-mark=sanctions]") !== null));
      assert.ok(order.indexOf(false) === -1 || order.lastIndexOf(true) < order.indexOf(false),
                "sanctions rows come first");
      // search by e-mail
      await page.fill("#filter-q", m.a.email.toUpperCase());
      await page.click("#queue-apply");
      await page.waitForFunction(() => document.querySelectorAll("tr[data-review-id]").length === 1);
      await row(page, plain.rid).waitFor();
      await screenshot(page, "bo-96-queue-search");

      // take it
      await row(page, plain.rid).locator("[data-testid=review-link]").click();
      await page.locator(`#view-review[data-review-id="${plain.rid}"]`).waitFor();
      assert.match(await page.locator("#assign-state").innerText(), /Nobody has taken/);
      await page.click("#assign-take");
      await page.waitForFunction(() => document.getElementById("assign-state").dataset.assigned !== "");
      assert.match(await page.locator("#assign-state").innerText(), /You have taken/);
      assert.equal(await psql(`SELECT assigned_to FROM reviews WHERE id = '${plain.rid}'`), reviewer.username);
      assert.equal(await psql(`SELECT actor FROM audit_log WHERE action = 'review.assign' AND target = '${plain.rid}'`),
                   reviewer.username);

      // ask the applicant
      await page.check("#decide-ask");
      assert.match(await page.locator("#decide-comment-label").innerText(), /Your message to the applicant/);
      await page.click("#decide-submit");
      assert.match(await page.locator("#decide-comment-error").innerText(), /Write the message/);
      const question = "Your passport says another surname: which one is right?";
      await page.fill("#decide-comment", question);
      await screenshot(page, "bo-97-ask");
      await page.click("#decide-submit");
      await page.locator("#notice").waitFor({ state: "visible" });
      assert.match(await page.locator("#notice").innerText(), /on its way to the applicant/);
      assert.equal(await psql(`SELECT params->>'question' FROM outbox WHERE enrolment_id = '${plain.eid}'`
        + " AND kind = 'review_question'"), question);
      assert.equal(await psql(`SELECT state FROM reviews WHERE id = '${plain.rid}'`), "open");
      assert.equal(await psql(`SELECT state FROM enrolments WHERE id = '${plain.eid}'`), "identity_review");
      assert.match(await page.locator("#decisions-list").innerText(), /Asked the applicant[\s\S]*which one is right/);
      // next review
      const next = page.locator("#next-review");
      await next.waitFor({ state: "visible" });
      const href = await next.getAttribute("href");
      assert.ok(!href.includes(plain.rid), "the next review is another one");
      await screenshot(page, "bo-98-next");
      await next.click();
      await page.locator("#view-review").waitFor();
      await page.waitForFunction((rid) => {
        const v = document.getElementById("view-review");
        return v.dataset.reviewId && v.dataset.reviewId !== rid;
      }, plain.rid);
      // the queue: mine, asked
      await page.goto(`${S.base}/backoffice/#/reviews?assigned=me`);
      await loaded(page);
      const mine = await row(page, plain.rid).locator("[data-testid=row-marks]").innerText();
      assert.match(mine, /Yours/);
      assert.match(mine, /Applicant asked/);
      await page.click("[data-testid=lang-fr]");
      assert.match(await row(page, plain.rid).locator("[data-testid=row-marks]").innerText(), /À vous/);
      await screenshot(page, "bo-99-queue-mine-fr");
      await page.click("[data-testid=lang-en]");
      assert.ok(other.rid);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

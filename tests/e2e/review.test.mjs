// SPDX-License-Identifier: AGPL-3.0-or-later
//
// review.test.mjs -- what a reviewer sees to decide (issue 14), in a real
// browser against a real guichetd: an identity review puts what was typed
// beside what the document says (the swapped day and month marked, the
// document number masked), speaks of the identity and never of a phone,
// and rejects without blocklisting; a sanctions hit describes the listed
// individual (names, birth date and place, programme) and shows no empty
// score; a reviewer is not offered the second approval of a four-eyes
// review; a refused decision says why next to the form; a phone's reject
// asks to confirm the blocklisting.  Needs GUICHET_DATABASE_URL and an
// admin CLI (lib/backoffice.mjs), else skipped.  Screenshots:
// tests/artifacts/e2e/bo-9*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { applicant, td3 } from "./lib/mrz.mjs";
import { Phone, psql } from "./lib/phone.mjs";

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
  return r.json();
}

// An applicant whose phone (an emulator) went to review: the enrolment id.
async function phoneInReview () {
  const a = applicant();
  const r = await fetch(`${S.base}/v1/enrolments`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ applicant: { given_names: a.givenNames, surname: a.surname,
                                        birth_date: a.birthDate, nationality: a.nationality,
                                        residence_country: a.residence, email: a.email,
                                        phone: a.phone },
                           document: { mrz: a.mrz } }),
  });
  assert.equal(r.status, 201);
  const e = await r.json();
  const cookie = (r.headers.get("set-cookie") || "").split(";")[0];
  const c = await fetch(`${S.base}/v1/enrolments/${e.id}/device-challenge`, {
    method: "POST", headers: { "Content-Type": "application/json", Cookie: cookie }, body: "{}",
  });
  assert.equal(c.status, 201);
  const phone = new Phone();
  try {
    const act = await phone.cli("activate", (await c.json()).qr_payload, "--device-json",
                                JSON.stringify({ emulator: true }));
    assert.equal(act.status, "pending_review", JSON.stringify(act));
  } finally {
    phone.close();
  }
  return e.id;
}

const reviewOf = (eid) => psql(`SELECT id FROM reviews WHERE enrolment_id = '${eid}'`);

async function openReview (who, rid) {
  const h = await openPage(S.browser, {});
  await h.page.goto(`${S.base}/backoffice/#/reviews/${rid}`);
  await signIn(h.page, who);
  await h.page.locator(`#view-review[data-review-id="${rid}"]`).waitFor({ timeout: 15000 });
  return h;
}

describe("back-office review page", () => {
  test("an identity review: typed beside the document, about the identity", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    // declared 1985-04-21, the passport says 12 April
    const a = applicant({ birthDate: "1985-04-21" });
    const doc = td3({ surname: a.surname, givenNames: a.givenNames, nationality: a.nationality,
                      birthDate: "1985-04-12", sex: "F", expiryDate: a.expiryDate,
                      documentNumber: a.documentNumber });
    const e = await enrol(a, doc);
    assert.equal(e.state, "identity_review");
    const rid = await reviewOf(e.id);
    const reviewer = await createAdmin("reviewer");
    const { page, context, problems } = await openReview(reviewer, rid);
    try {
      const birth = page.locator("[data-testid=compare-birth_date]");
      assert.match(await birth.innerText(), /1985-04-21\s+1985-04-12\s+differs/);
      assert.equal(await birth.getAttribute("class"), "compare--differs");
      assert.match(await page.locator("[data-testid=compare-surname]").innerText(), /same/);
      const num = await page.locator("[data-testid=compare-document_number]").innerText();
      assert.match(num, /\*{6}[A-Z0-9]{3}/);
      assert.ok(!num.includes(a.documentNumber), "the document number is masked");
      assert.match(await page.locator("[data-testid=compare-expiry_date]").innerText(), /valid/);
      // no phone, no score, no phone history
      assert.equal(await page.locator("[data-testid=device-part]").isHidden(), true);
      assert.doesNotMatch(await page.locator("#review-summary").innerText(), /Risk score|—/);
      assert.equal(await page.locator("#history-heading").innerText(),
                   "Other applications with this identity or document");
      assert.equal(await page.locator("[data-history=devices]").count(), 0);
      assert.equal(await page.locator("[data-history=attempts]").count(), 0);
      await page.check("#decide-reject");
      assert.match(await page.locator("#decide-reject-hint").innerText(), /Nothing is blocklisted/);
      assert.equal(await page.locator("#confirm-field").isHidden(), true);
      assert.equal(await page.locator("#blocklist-field").isHidden(), true);
      await screenshot(page, "bo-90-identity-compare");
      await page.click("[data-testid=lang-fr]");
      assert.match(await birth.innerText(), /différent/);
      await page.click("[data-testid=lang-en]");
      await page.fill("#decide-comment", "birth date differs from the passport");
      await page.click("#decide-submit");
      await page.locator("#view-review[data-state=rejected]").waitFor({ timeout: 15000 });
      assert.match(await page.locator("#notice").innerText(), /Rejected\. The application is ended\.$/);
      assert.equal(await psql(`SELECT count(*) FROM blocklist WHERE created_by = '${reviewer.username}'`), "0");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a sanctions hit names the listed individual; four eyes is an admin's", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const a = applicant({ surname: "Islambouli", givenNames: "Mohammad Shawqi",
                          birthDate: "1955-01-15", nationality: "EGY" });
    const e = await enrol(a);
    assert.equal(e.state, "identity_review");
    const rid = await reviewOf(e.id);
    const reviewer = await createAdmin("reviewer");
    let h = await openReview(reviewer, rid);
    try {
      const { page } = h;
      const hit = page.locator("[data-testid=sanction-hit][data-entry='2682']");
      await hit.waitFor({ state: "visible" });
      const text = await hit.innerText();
      assert.match(text, /ISLAMBOULI, Mohammad Shawqi/);
      assert.match(text, /15 Jan 1955/);
      assert.match(text, /Egypt/);
      assert.match(text, /SDGT/);
      assert.match(text, /match: needs a decision/);
      assert.doesNotMatch(text, /2,682|entry_id/);
      assert.doesNotMatch(await page.locator("#checks-body").innerText(), /2,682|entry_id/);
      assert.doesNotMatch(await page.locator("#review-summary").innerText(), /Risk score|—/);
      await screenshot(page, "bo-91-sanctions-hit");
      // the first approval is the reviewer's
      await page.check("#decide-approve");
      await page.fill("#decide-comment", "not the listed person: other birth place");
      await page.click("#decide-submit");
      await page.locator("#view-review[data-state=awaiting_second_approval]").waitFor({ timeout: 15000 });
      // ... and the second is not offered to them
      assert.equal(await page.locator("#decide-approve-choice").isHidden(), true);
      assert.match(await page.locator("#decide-approve-note").innerText(), /You gave the first approval/);
      await assertNoProblems(h.problems);
    } finally {
      await h.context.close();
    }
    // another reviewer: no approval offered either
    h = await openReview(await createAdmin("reviewer"), rid);
    try {
      assert.equal(await h.page.locator("#decide-approve-choice").isHidden(), true);
      assert.match(await h.page.locator("#decide-approve-note").innerText(), /needs the admin role/);
      await screenshot(h.page, "bo-92-second-needs-admin");
    } finally {
      await h.context.close();
    }
    // an admin gets it; a refusal (decided meanwhile) shows next to the form
    const admin = await createAdmin("admin");
    h = await openReview(admin, rid);
    try {
      const { page } = h;
      assert.equal(await page.locator("#decide-approve-choice").isHidden(), false);
      await psql(`UPDATE enrolments SET expires_at = now() - interval '1 minute' WHERE id = '${e.id}'`);
      await page.check("#decide-approve");
      await page.fill("#decide-comment", "confirmed with compliance");
      await page.click("#decide-submit");
      const err = page.locator("#decide-error");
      await err.waitFor({ state: "visible" });
      assert.match(await err.innerText(), /decided meanwhile|moved on/);
      assert.equal(await page.locator("#banner").isHidden(), true);
      await screenshot(page, "bo-93-refused-next-to-form");
      assert.equal(await psql(`SELECT state FROM reviews WHERE id = '${rid}'`), "awaiting_second_approval");
      await assertNoProblems(h.problems);
    } finally {
      await h.context.close();
    }
  });

  test("a phone's reject asks to confirm the blocklisting", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const eid = await phoneInReview();
    const rid = await reviewOf(eid);
    const reviewer = await createAdmin("reviewer");
    const { page, context, problems } = await openReview(reviewer, rid);
    try {
      assert.match(await page.locator("#review-summary").innerText(), /Risk score/);
      await page.check("#decide-reject");
      assert.match(await page.locator("#decide-reject-hint").innerText(), /blocklisted/);
      await page.locator("#confirm-field").waitFor({ state: "visible" });
      await page.fill("#decide-comment", "emulator, same address as a known fraud");
      await page.click("#decide-submit");
      assert.match(await page.locator("#decide-confirm-error").innerText(), /Tick this box/);
      assert.equal(await psql(`SELECT state FROM reviews WHERE id = '${rid}'`), "open");
      await screenshot(page, "bo-94-confirm-blocklist");
      await page.check("#decide-confirm");
      await page.click("#decide-submit");
      await page.locator("#view-review[data-state=rejected]").waitFor({ timeout: 15000 });
      assert.equal(await psql(`SELECT count(*) > 0 FROM blocklist WHERE created_by = '${reviewer.username}'`), "t");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

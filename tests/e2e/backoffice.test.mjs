// SPDX-License-Identifier: AGPL-3.0-or-later
//
// backoffice.test.mjs -- the back-office in a real browser against a real
// guichetd (GUICHET_BASE_URL): a reviewer signs in with password + TOTP,
// opens a phone flagged by the risk rules (an emulator), reads why in plain
// words, approves it with a comment, and the applicant's page -- open all
// along in another browser context -- moves on by itself to the PIN form.
// Also: the login page's checks and errors, French, an expired session
// that returns to where it was, the audit log, a 360 px screen, and no
// Content-Security-Policy violation anywhere.
//
// Staff accounts are made with `guichetd admin create`, which needs the
// server's database and master key: GUICHET_CLI, or GUICHET_DATABASE_URL +
// GUICHET_MASTER_KEY_FILE (lib/backoffice.mjs).  Without them the tests
// that sign in are skipped (the summary counts them).  The phone is
// build/authenticator/guichet-authenticator (or GUICHET_AUTHENTICATOR),
// scanning the QR code from a screenshot with zbarimg.
//
// Screenshots go to tests/artifacts/e2e/ (names start with "bo-").

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import { assertNoProblems, baseUrl, fillForm, launch, openPage, screenshot } from "./lib/browser.mjs";
import { activateFromPage, adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { applicant } from "./lib/mrz.mjs";
import { base32Decode, parseOtpauth, totp } from "./lib/totp.mjs";

const T = { timeout: 180000 };
const NEEDS_ADMIN = adminCliProblem();
const NEEDS_DB = process.env.GUICHET_DATABASE_URL ? null : "needs GUICHET_DATABASE_URL";

// One SQL statement on the server's database (psql): its unaligned output.
function sqlSync (query) {
  return execFileSync("psql", [process.env.GUICHET_DATABASE_URL, "-XAtq", "-v", "ON_ERROR_STOP=1",
                               "-c", query], { encoding: "utf8" }).trim();
}

// POST /v1/enrolments for an applicant of lib/mrz.mjs; answers the JSON.
async function enrolByApi (a) {
  const res = await fetch(`${BASE}/v1/enrolments`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ applicant: { given_names: a.givenNames, surname: a.surname,
                                        birth_date: a.birthDate, nationality: a.nationality,
                                        residence_country: a.residence, email: a.email,
                                        phone: a.phone },
                           document: { mrz: a.mrz } }),
  });
  assert.equal(res.status, 201);
  return res.json();
}
let BASE;
let browser;
let setupError = null;

// Shared between the tests of this file, which run in order.
const flow = { reviewer: null, reviewId: null, enrolmentId: null };

before(async () => {
  try {
    BASE = baseUrl();
    browser = await launch();
  } catch (e) {
    setupError = e;
  }
});

after(async () => {
  if (browser)
    await browser.close();
});

// Opens the back-office at hash, checks it came with the strict CSP.
async function openBackoffice (hash = "", opts) {
  if (setupError)
    throw setupError;
  const h = await openPage(browser, opts);
  const res = await h.page.goto(`${BASE}/backoffice/${hash}`);
  assert.equal(res.status(), 200);
  const csp = res.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/, "the back-office must be served with its CSP");
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  return h;
}

async function text (page, selector) {
  const loc = page.locator(selector).first();
  await loc.waitFor({ state: "visible" });
  return (await loc.innerText()).trim();
}

const hash = (page) => page.evaluate(() => location.hash);

// Waits until the queue shows the answer for these filters (the table
// says which it shows in data-loaded, "state|kind").
function queueLoaded (page, state = "open", kind = "") {
  return page.locator(`#queue-table[data-loaded="${state}|${kind}"]`)
    .waitFor({ state: "attached", timeout: 15000 });
}

// Runs SQL on guichetd's database (GUICHET_DATABASE_URL, as its owner).
async function sql (query) {
  const { stdout } = await promisify(execFile)("psql",
    [process.env.GUICHET_DATABASE_URL, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", query]);
  return stdout.trim();
}

// Clicks "Refresh" and waits for the new answer.
async function refreshQueue (page) {
  const before = await page.getAttribute("#queue-table", "data-loads");
  await page.click("#queue-refresh");
  await page.waitForFunction((n) => document.getElementById("queue-table").dataset.loads !== n,
                             before, { timeout: 15000 });
}

describe("TOTP helper", () => {
  test("RFC 6238 appendix B and an otpauth URI", () => {
    const keys = {
      SHA1: Buffer.from("12345678901234567890"),
      SHA256: Buffer.from("12345678901234567890123456789012"),
      SHA512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234"),
    };
    const vectors = [
      [59, "94287082", "46119246", "90693936"],
      [1111111109, "07081804", "68084774", "25091201"],
      [1111111111, "14050471", "67062674", "99943326"],
      [1234567890, "89005924", "91819424", "93441116"],
      [2000000000, "69279037", "90698825", "38618901"],
      [20000000000, "65353130", "77737706", "47863826"],
    ];
    for (const [t, s1, s256, s512] of vectors) {
      assert.equal(totp({ key: keys.SHA1, algorithm: "SHA1", digits: 8, period: 30 }, t), s1);
      assert.equal(totp({ key: keys.SHA256, algorithm: "SHA256", digits: 8, period: 30 }, t), s256);
      assert.equal(totp({ key: keys.SHA512, algorithm: "SHA512", digits: 8, period: 30 }, t), s512);
    }
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert.deepEqual(base32Decode(secret), keys.SHA1);
    const p = parseOtpauth(`otpauth://totp/Guichet:alice?secret=${secret}&issuer=Guichet`);
    assert.deepEqual([p.algorithm, p.digits, p.period], ["SHA1", 6, 30]);
    assert.equal(totp(p, 59), "287082");
  });
});

describe("back-office", () => {
  test("the login page: CSP, labels, checks next to the fields, wrong password, French", T, async () => {
    const { context, page, problems } = await openBackoffice("#/reviews");
    try {
      // Not signed in: any route shows the login.
      await page.locator("[data-testid=view-login]").waitFor({ state: "visible" });
      assert.equal(await hash(page), "#/login");
      const unlabelled = await page.$$eval("input, select, textarea",
        (els) => els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
      assert.deepEqual(unlabelled, [], "every input has a <label>");
      assert.equal(await page.locator("#mainnav").isVisible(), false, "no navigation before signing in");

      // Keyboard: Tab reaches the username with a visible ring.
      for (let i = 0; i < 10; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(() => document.activeElement.id) === "login-username")
          break;
      }
      assert.equal(await page.evaluate(() => document.activeElement.id), "login-username");
      const ring = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
      });
      assert.ok(ring.style !== "none" && ring.width >= 2, "focus is visible");

      // Empty form: each field says so, under itself; nothing is sent.
      let posts = 0;
      page.on("request", (r) => { if (r.method() === "POST") posts++; });
      await page.keyboard.press("Enter");
      await page.locator("#login-username-error").waitFor({ state: "visible" });
      assert.equal(await page.locator(".field-error:not(:empty)").count(), 3);
      assert.equal(await page.getAttribute("#login-username", "aria-invalid"), "true");
      assert.match(await page.getAttribute("#login-otp", "aria-describedby"), /\blogin-otp-error\b/);
      assert.equal(await page.evaluate(() => document.activeElement.id), "login-username");
      const box = await page.locator("#login-username").boundingBox();
      const err = await page.locator("#login-username-error").boundingBox();
      assert.ok(err.y >= box.y + box.height - 1 && err.y - (box.y + box.height) < 40,
                "the message sits right under its field");
      await page.fill("#login-username", "nobody");
      await page.fill("#login-password", "wrong password");
      await page.fill("#login-otp", "12a");
      await page.click("#login-submit");
      assert.match(await text(page, "#login-otp-error"), /6 digits/);
      assert.equal(posts, 0, "nothing was sent");
      await screenshot(page, "bo-01-login-checks");

      // Wrong credentials: one message that does not say which was wrong.
      await page.fill("#login-otp", "123456");
      await page.click("#login-submit");
      await page.locator("#login-error").waitFor({ state: "visible" });
      assert.match(await page.locator("#login-error").innerText(),
                   /username, the password or the code is wrong/);
      assert.equal(await page.inputValue("#login-password"), "", "the password is cleared");
      assert.equal(await page.inputValue("#login-username"), "nobody");
      await screenshot(page, "bo-02-login-failed");

      // French.
      await page.click("[data-testid=lang-fr]");
      assert.equal(await page.getAttribute("html", "lang"), "fr");
      assert.equal(await text(page, "#login-heading"), "Connexion");
      assert.equal(await text(page, "label[for=login-password]"), "Mot de passe");
      assert.match(await page.title(), /Connexion/);
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a reviewer approves a flagged phone; the applicant's page moves on by itself", {
    ...T, skip: NEEDS_ADMIN || false,
  }, async (t) => {
    if (setupError)
      throw setupError;
    flow.reviewer = await createAdmin("reviewer");

    // --- The applicant: identity, then the QR code, scanned by an emulator.
    const app = await openPage(browser);
    const bo = await openBackoffice("");
    try {
      const ap = app.page;
      await ap.goto(`${BASE}/`);
      await ap.locator("#view-form").waitFor({ state: "visible" });
      const a = applicant();
      await fillForm(ap, a);
      await ap.click("#submit");
      await ap.locator("#status[data-state=device]").waitFor({ timeout: 20000 });
      flow.enrolmentId = await text(ap, "[data-testid=enrolment-id]");
      const answer = await activateFromPage(ap, "bo-03-applicant-qr", { emulator: true });
      t.diagnostic(`authenticator: ${JSON.stringify(answer)}`);

      // The risk rules send an emulator to a person: the page says so.
      await ap.locator("#status[data-state=device_review]").waitFor({ timeout: 30000 });
      await ap.locator("[data-testid=view-device-review]").waitFor({ state: "visible" });
      assert.match(await text(ap, "#device-review-heading"), /being reviewed/);
      await screenshot(ap, "bo-04-applicant-under-review");

      // --- The reviewer: sign in, the queue, the flagged phone.
      const bp = bo.page;
      await signIn(bp, flow.reviewer);
      await bp.locator("[data-testid=view-reviews]").waitFor({ state: "visible" });
      assert.equal(await hash(bp), "#/reviews");
      assert.match(await text(bp, "[data-testid=whoami]"), new RegExp(flow.reviewer.username));
      assert.equal(await bp.getAttribute("#nav-reviews", "aria-current"), "page");
      await queueLoaded(bp);
      const row = bp.locator("tr[data-testid=review-row]", { hasText: flow.enrolmentId });
      for (let i = 0; i < 10 && await row.count() === 0; i++) {
        await bp.waitForTimeout(1000);
        await refreshQueue(bp);
      }
      assert.equal(await row.count(), 1, "the flagged phone is in the open queue");
      assert.equal(await row.getAttribute("data-kind"), "device");
      assert.equal(await row.getAttribute("data-state"), "open");
      assert.match(await row.innerText(), /Emulator, not a real phone/);
      assert.match(await row.innerText(), new RegExp(a.surname, "i"));
      const score = Number(await row.locator("[data-testid=score]").getAttribute("data-score"));
      assert.ok(score >= 40 && score < 80, `an emulator alone scores "review": ${score}`);
      assert.match(await row.locator("[data-testid=score]").innerText(), /medium/);
      await screenshot(bp, "bo-05-queue");

      // Only the phones: the filter is kept in the address.
      await bp.selectOption("#filter-kind", "identity");
      await queueLoaded(bp, "open", "identity");
      assert.equal(await hash(bp), "#/reviews?kind=identity");
      assert.equal(await row.count(), 0, "a phone is not an identity review");
      await bp.focus("#filter-kind");
      await bp.selectOption("#filter-kind", "device");
      await queueLoaded(bp, "open", "device");
      assert.equal(await hash(bp), "#/reviews?kind=device");
      assert.equal(await bp.evaluate(() => document.activeElement.id), "filter-kind",
                   "choosing a filter leaves focus on it");
      await row.waitFor();

      flow.reviewId = await row.getAttribute("data-review-id");
      await row.locator("[data-testid=review-link]").click();
      await bp.locator("#view-review[data-state=open]").waitFor({ timeout: 15000 });
      assert.equal(await hash(bp), `#/reviews/${flow.reviewId}`);
      assert.equal(await bp.evaluate(() => document.activeElement.id), "review-heading",
                   "focus moves to the review's heading");
      const reason = bp.locator("[data-testid=review-reasons] [data-reason=emulator]");
      assert.match(await reason.innerText(), /Emulator, not a real phone/);
      assert.match(await reason.innerText(), /runs in an emulator on a computer/);
      const signal = bp.locator("[data-testid=signal-emulator]");
      assert.equal(await signal.count(), 1, "the emulator rule is in the score's table");
      assert.match(await signal.innerText(), /yes/);
      assert.match(await text(bp, "[data-testid=device-facts]"), /Internet address/);
      await screenshot(bp, "bo-06-review");

      // The decision: a comment is required, next to its field.
      await bp.check("#decide-approve");
      await bp.click("#decide-submit");
      assert.match(await text(bp, "#decide-comment-error"), /Write a comment/);
      assert.equal(await bp.evaluate(() => document.activeElement.id), "decide-comment");
      await bp.fill("#decide-comment", "E2E: emulator used by our test bench, applicant known.");
      await bp.click("#decide-submit");
      await bp.locator("#notice").waitFor({ state: "visible", timeout: 15000 });
      assert.match(await bp.locator("#notice").innerText(), /^Approved\./);
      await bp.locator("#view-review[data-state=approved]").waitFor({ timeout: 15000 });
      assert.match(await text(bp, "[data-testid=decisions-list]"), /E2E: emulator used by our test bench/);
      assert.equal(await bp.locator("[data-testid=decide-part]").isVisible(), false,
                   "a decided review offers no form");
      await screenshot(bp, "bo-07-approved");

      // The server agrees.
      const res = await bo.context.request.get(`${BASE}/v1/admin/reviews/${flow.reviewId}`);
      assert.equal(res.status(), 200);
      assert.equal((await res.json()).state, "approved");

      // --- The applicant's page, untouched since: it moves on to the PIN.
      await ap.locator("#status[data-state=pin_otp]").waitFor({ timeout: 40000 });
      await ap.locator("[data-testid=view-pin]").waitFor({ state: "visible" });
      assert.ok(await ap.locator("#pin").isVisible(), "the PIN form is shown");
      await screenshot(ap, "bo-08-applicant-pin");

      // The approved review is listed under "Approved", not "Open".
      await bp.goto(`${BASE}/backoffice/#/reviews?state=approved&kind=device`);
      await bp.locator(`tr[data-review-id="${flow.reviewId}"]`).waitFor({ timeout: 15000 });
      await bp.goto(`${BASE}/backoffice/#/reviews`);
      await queueLoaded(bp);
      assert.equal(await bp.locator(`tr[data-review-id="${flow.reviewId}"]`).count(), 0);

      await assertNoProblems(app.problems);
      await assertNoProblems(bo.problems);
    } catch (e) {
      // What each side saw when it failed.
      await screenshot(app.page, "bo-fail-applicant").catch(() => {});
      await screenshot(bo.page, "bo-fail-reviewer").catch(() => {});
      throw e;
    } finally {
      await app.context.close();
      await bo.context.close();
    }
  });

  // Issue 12: a review whose approval would attach the application to an
  // existing customer says so, by customer id, in the queue and the review.
  test("a review that attaches to an existing customer says so plainly", {
    ...T, skip: NEEDS_ADMIN || NEEDS_DB || false,
  }, async () => {
    if (setupError)
      throw setupError;
    const a = applicant();
    const first = await enrolByApi(a);
    const customer = "cus_e2e" + a.surname.slice(-8);
    // The first application completed as this customer (as if the phone
    // steps had been done).
    sqlSync(`INSERT INTO customers (id, pin_hash) VALUES ('${customer}', 'x');`
        + ` UPDATE enrolments SET state = 'completed', customer_id = '${customer}',`
        + ` completed_at = now() WHERE id = '${first.id}'`);
    const again = await enrolByApi({ ...a, email: "again." + a.email });
    assert.equal(again.state, "identity_review");
    assert.deepEqual(again.identity.reasons, ["manual_check"]);
    const rid = sqlSync(`SELECT id FROM reviews WHERE enrolment_id = '${again.id}'`);
    const admin = await createAdmin("admin");
    const { context, page, problems } = await openBackoffice("#/reviews?kind=identity");
    try {
      await signIn(page, admin);
      await queueLoaded(page, "open", "identity");
      const row = page.locator(`tr[data-review-id="${rid}"]`);
      assert.match(await row.locator("[data-testid=row-attach]").innerText(),
                   new RegExp(`Attaches to customer ${customer}`));
      await row.locator("[data-testid=review-link]").click();
      await page.locator("#view-review[data-state=open]").waitFor({ timeout: 15000 });
      const says = await text(page, "[data-testid=review-attach]");
      assert.match(says, new RegExp(`attaches this application to the existing customer ${customer}`));
      assert.match(says, /Two approvals by two different staff/);
      assert.match(await text(page, "[data-testid=review-summary]"), /Two approvals needed/);
      await screenshot(page, "bo-14-attach");
      await page.click("[data-testid=lang-fr]");
      assert.match(await text(page, "[data-testid=review-attach]"),
                   new RegExp(`rattache cette demande au client existant ${customer}`));
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("an expired session shows the login, then returns to the same page", {
    ...T, skip: NEEDS_ADMIN || false,
  }, async () => {
    const admin = await createAdmin("reviewer");
    const { context, page, problems } = await openBackoffice("#/reviews?state=all");
    try {
      await signIn(page, admin);
      await page.locator("[data-testid=view-reviews]").waitFor({ state: "visible" });
      assert.equal(await hash(page), "#/reviews?state=all", "back where it was asked");
      assert.equal(await page.inputValue("#filter-state"), "all");

      // The session ends (as after 15 idle minutes): the next call gets 401.
      await context.clearCookies();
      await page.click("#queue-refresh");
      await page.locator("[data-testid=login-notice]").waitFor({ state: "visible" });
      assert.match(await page.locator("[data-testid=login-notice]").innerText(),
                   /Your session expired/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem("guichet.backoffice.csrf")),
                   null, "the CSRF token is forgotten");
      await screenshot(page, "bo-09-session-expired");

      // A second tab, also on the login: signing in in the first signs it
      // in too (same cookie; the CSRF token is passed between the tabs).
      const tab = await context.newPage();
      await tab.goto(`${BASE}/backoffice/#/audit`);
      await tab.locator("[data-testid=view-login]").waitFor({ state: "visible" });

      await signIn(page, admin);
      await page.locator("[data-testid=view-reviews]").waitFor({ state: "visible" });
      assert.equal(await hash(page), "#/reviews?state=all");
      await tab.locator("[data-testid=view-audit]").waitFor({ state: "visible" });
      assert.ok(await tab.evaluate(() => sessionStorage.getItem("guichet.backoffice.csrf")),
                "the other tab can act");

      // Signing out for good, in both tabs.
      await page.click("[data-testid=logout]");
      await page.locator("[data-testid=login-notice]", { hasText: "You are signed out" })
        .waitFor({ state: "visible" });
      await tab.locator("[data-testid=view-login]").waitFor({ state: "visible" });
      await page.goto(`${BASE}/backoffice/#/reviews`);
      await page.reload();
      await page.locator("[data-testid=view-login]").waitFor({ state: "visible" });
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("an admin reads the audit log: the reviewer's sign-in and decision", {
    ...T, skip: NEEDS_ADMIN || false,
  }, async () => {
    const admin = await createAdmin("admin");
    const { context, page, problems } = await openBackoffice("#/audit");
    try {
      await signIn(page, admin);
      await page.locator("[data-testid=view-audit]").waitFor({ state: "visible" });
      await page.locator('#audit-table[data-loaded="#/audit"]').waitFor({ state: "attached" });
      assert.ok(await page.locator("tr[data-testid=audit-row]").count() > 0, "the log has entries");
      await screenshot(page, "bo-10-audit");

      if (flow.reviewer) {
        await page.fill("#audit-actor", flow.reviewer.username);
        await page.click("#audit-apply");
        await page.locator(`#audit-table[data-loaded="#/audit?actor=${flow.reviewer.username}"]`)
          .waitFor({ state: "attached" });
        const rows = page.locator("tr[data-testid=audit-row]");
        assert.ok(await rows.count() >= 2, "the reviewer signed in and decided");
        const all = await page.locator("#audit-body").innerText();
        assert.ok(!all.includes(admin.username), "only the chosen actor's entries");
        if (flow.reviewId)
          assert.match(all, new RegExp(flow.reviewId), "the decision names the review");
        await screenshot(page, "bo-11-audit-filtered");
      }

      // French, on the same data.
      await page.click("[data-testid=lang-fr]");
      assert.equal(await text(page, "#audit-heading"), "Journal d'audit");
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a long queue comes oldest first, a page at a time", {
    ...T, skip: NEEDS_ADMIN || (process.env.GUICHET_DATABASE_URL ? false : "needs GUICHET_DATABASE_URL"),
  }, async () => {
    // 130 open reviews older than any other: more than a page (100).
    const tag = randomBytes(4).toString("hex");
    await sql(`INSERT INTO enrolments (id, state, expires_at, applicant, email, identity_key,
                 identity_decision)
               SELECT 'enr_q${tag}_' || g, 'identity_review', now() + interval '1 day',
                 jsonb_build_object('surname', 'QUEUE' || g, 'given_names', 'ANNA'),
                 'anna@example.org', 'k${tag}' || g, 'review' FROM generate_series(1, 130) g`);
    await sql(`INSERT INTO reviews (id, kind, enrolment_id, reasons, four_eyes, created_at)
               SELECT 'rev_q${tag}_' || g, 'identity', 'enr_q${tag}_' || g, '["name_mismatch"]',
                 false, timestamptz '2001-01-01 00:00:00Z' + g * interval '1 second'
               FROM generate_series(1, 130) g`);
    const admin = await createAdmin("reviewer");
    const { context, page, problems } = await openBackoffice("#/reviews");
    try {
      const total = Number(await sql(`SELECT count(*) FROM reviews
                                      WHERE state IN ('open', 'awaiting_second_approval')`));
      await signIn(page, admin);
      await queueLoaded(page);
      const rows = page.locator("#queue-body tr");
      assert.equal(await rows.count(), 100, "one page");
      assert.equal(await rows.first().getAttribute("data-review-id"), `rev_q${tag}_1`,
                   "the review that waited longest comes first");
      assert.match(await text(page, "#queue-summary"), new RegExp(`100 of ${total}`));
      await page.click("#queue-more");
      await page.waitForFunction((n) => document.querySelectorAll("#queue-body tr").length === n,
                                 total, { timeout: 15000 });
      assert.equal(await rows.nth(129).getAttribute("data-review-id"), `rev_q${tag}_130`);
      assert.equal(await page.locator("#queue-more-wrap").isVisible(), false, "nothing more");
      await screenshot(page, "bo-14-queue-pages");
      await assertNoProblems(problems);
    } finally {
      await context.close();
      await sql(`DELETE FROM reviews WHERE id LIKE 'rev_q${tag}_%'`);
      await sql(`DELETE FROM enrolments WHERE id LIKE 'enr_q${tag}_%'`);
    }
  });

  test("the queue and a review fit a 360 px screen", {
    ...T, skip: NEEDS_ADMIN || false,
  }, async () => {
    const admin = await createAdmin("reviewer");
    const { context, page, problems } = await openBackoffice("#/reviews?state=all",
                                                             { viewport: { width: 360, height: 740 } });
    try {
      const fits = () => page.evaluate(() =>
        document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      assert.ok(await fits(), "no sideways scrolling on the login");
      await signIn(page, admin);
      await queueLoaded(page, "all");
      assert.ok(await fits(), "no sideways scrolling on the queue");
      await screenshot(page, "bo-12-mobile-queue");
      if (flow.reviewId) {
        await page.goto(`${BASE}/backoffice/#/reviews/${flow.reviewId}`);
        await page.locator("#view-review[data-state=approved]").waitFor();
        assert.ok(await fits(), "no sideways scrolling on a review");
        await screenshot(page, "bo-13-mobile-review");
      }
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

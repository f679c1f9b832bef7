// SPDX-License-Identifier: AGPL-3.0-or-later
//
// enrol.test.mjs -- the enrolment page in a real browser against a real
// guichetd (GUICHET_BASE_URL): a person with a valid passport reaches the
// device step; an expired passport is explained; a bad e-mail is flagged
// next to its field; the page keeps to its Content-Security-Policy, fits a
// 360 px phone, works from the keyboard and speaks French.
//
// Each test uses its own browser context (own cookie and sessionStorage)
// and a freshly generated identity, so tests neither share a session nor
// trip the duplicate-identity check.  Screenshots go to tests/artifacts/e2e/.
//
// Two tests need more than the URL and are skipped without it (the summary
// counts them as skipped): GUICHET_DATABASE_URL, the server's database,
// lets a test read the resume link from the outbox as the applicant would
// from the e-mail; GUICHET_E2E_SESSION_IDLE_S, the server's session_idle_s
// when the harness set it short (10 s), lets a test wait a session out.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, fillForm, openEnrolment, outcome, screenshot } from "./lib/browser.mjs";
import { applicant, dateFromToday } from "./lib/mrz.mjs";

const T = { timeout: 90000 };
const S = browserSuite();
const start = (opts) => openEnrolment(S, opts);

async function submit (page) {
  await page.click("#submit");
  return outcome(page);
}

// The newest resume link queued in the outbox for this e-mail address
// (the template's parameter: this server has no relay, so it stays
// there), rendered as the sender would -- its {{secret}} replaced by the
// row's secret column -- as "<id>.<token>" (what follows #resume=).
function resumeLinkFor (email) {
  const body = execFileSync("psql", [process.env.GUICHET_DATABASE_URL, "-XAtq",
                                     "-v", "ON_ERROR_STOP=1", "-v", `email=${email}`], {
    input: "SELECT replace(params->>'link', '{{secret}}', secret) FROM outbox"
      + " WHERE kind = 'resume_link' AND recipient = :'email'"
      + " ORDER BY id DESC LIMIT 1;\n",
    encoding: "utf8",
  });
  const m = /#resume=(\S+)/.exec(body);
  assert.ok(m, `no resume link in the outbox for ${email}`);
  return m[1];
}

async function visibleText (page, selector) {
  const loc = page.locator(selector);
  await loc.waitFor({ state: "visible" });
  return (await loc.innerText()).trim();
}

describe("enrolment page", () => {
  test("a valid passport reaches the device step", T, async () => {
    const { context, page, problems } = await start();
    try {
      const a = applicant();
      await fillForm(page, a);
      await screenshot(page, "01-form-filled");
      const out = await submit(page);
      assert.equal(out.state, "device", `expected the device step, page shows ${JSON.stringify(out)}`);
      assert.ok(await page.locator("[data-testid=view-device]").isVisible());
      assert.equal(await page.getAttribute("[data-testid=identity-decision]", "data-decision"), "pass");
      assert.match(await visibleText(page, "#device-heading"), /Register your phone/);
      assert.match(await visibleText(page, "[data-testid=enrolment-state]"), /Phone registration/);
      const id = (await visibleText(page, "[data-testid=enrolment-id]"));
      assert.ok(id.length > 0, "the enrolment reference is shown");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("guichet.enrolment")), id);
      assert.equal(await page.evaluate(() => document.activeElement.id), "device-heading",
                   "focus moves to the new step's heading");
      await screenshot(page, "02-device-step");

      // A reload asks the server (session cookie) and lands on the same step.
      await page.reload();
      await page.locator("[data-testid=view-device]").waitFor({ state: "visible" });
      assert.equal(await visibleText(page, "[data-testid=enrolment-id]"), id);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("an expired document shows why", T, async () => {
    const { context, page, problems } = await start();
    try {
      await fillForm(page, applicant({ expiryDate: dateFromToday(-1) }));
      const out = await submit(page);
      assert.ok(out.reasons.includes("document_expired"),
                `expected document_expired, page shows ${JSON.stringify(out)}`);
      assert.ok(["rejected", "identity_review"].includes(out.state), `state ${out.state}`);
      const reason = page.locator("[data-testid=reason-document_expired]");
      assert.match(await reason.innerText(), /Document expired/);
      assert.match(await reason.innerText(), /expiry date of your document has passed/);
      await screenshot(page, "03-document-expired");
      if (out.state === "rejected") {
        assert.ok(await page.locator("[data-testid=view-rejected]").isVisible());
        // An expired document can be replaced: the page offers to start again
        // and keeps what was typed.
        await page.click("[data-testid=restart-rejected]");
        await page.locator("#view-form").waitFor({ state: "visible" });
        assert.notEqual(await page.inputValue("#surname"), "");
        assert.equal(await page.evaluate(() => sessionStorage.getItem("guichet.enrolment")), null);
      }
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a bad e-mail is shown next to its field, and nothing is created", T, async () => {
    const { context, page, problems } = await start();
    try {
      const posts = [];
      page.on("request", (r) => {
        if (r.method() === "POST" && new URL(r.url()).pathname === "/v1/enrolments")
          posts.push(r);
      });
      await fillForm(page, applicant({ email: "not-an-email" }));
      const out = await submit(page);
      assert.equal(posts.length, 1, "the server judges the e-mail address");
      assert.deepEqual(out.fieldErrors.map((e) => e.split(":")[0]), ["email-error"],
                       `page shows ${JSON.stringify(out)}`);
      assert.equal(out.state, null, "no enrolment is shown");
      const email = page.locator("#email");
      assert.equal(await email.getAttribute("aria-invalid"), "true");
      assert.match(await email.getAttribute("aria-describedby"), /\bemail-error\b/);
      assert.equal(await page.evaluate(() => document.activeElement.id), "email",
                   "focus goes to the field in error");
      assert.match(await visibleText(page, "#email-error"), /valid e-mail address/);
      // Next to the field: right below the input, not at the top of the page.
      const box = await email.boundingBox();
      const err = await page.locator("#email-error").boundingBox();
      assert.ok(err.y >= box.y + box.height - 1 && err.y - (box.y + box.height) < 40,
                "the message sits right under the field");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("guichet.enrolment")), null);
      await screenshot(page, "04-email-error");

      // Fixing it clears the message and goes through.
      await page.fill("#email", "anna.tester@example.org");
      const again = await submit(page);
      assert.equal(await page.locator("#email-error").innerText(), "");
      assert.notEqual(again.state, null, `page shows ${JSON.stringify(again)}`);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("missing fields and a mistyped MRZ are flagged before sending", T, async () => {
    const { context, page, problems } = await start();
    try {
      let posts = 0;
      page.on("request", (r) => {
        if (r.method() === "POST")
          posts++;
      });
      await page.click("#submit");
      await page.locator("#given-names-error").waitFor({ state: "visible" });
      assert.equal(await page.evaluate(() => document.activeElement.id), "given-names");
      const errors = await page.locator(".field-error:not(:empty)").count();
      assert.equal(errors, 8, "each empty field says so");

      const a = applicant();
      await fillForm(page, { ...a, mrz: a.mrz.toLowerCase() });
      await page.click("#submit");
      await page.locator("#mrz-error").waitFor({ state: "visible" });
      assert.match(await page.locator("#mrz-error").innerText(), /Line 1 contains “p”/);
      assert.equal(await page.locator(".field-error:not(:empty)").count(), 1);
      assert.equal(await page.inputValue("#mrz"), a.mrz.toLowerCase(),
                   "the page never rewrites the MRZ");
      assert.equal(posts, 0, "nothing was sent");
      await screenshot(page, "05-client-checks");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("no CSP violation, and the whole flow fits a 360x740 phone", T, async () => {
    const { context, page, problems } = await start({ viewport: { width: 360, height: 740 } });
    try {
      const fits = () => page.evaluate(() =>
        document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      assert.ok(await fits(), "no sideways scrolling on the form");
      const a = applicant();
      await fillForm(page, a);
      const mrzFits = await page.$eval("#mrz", (t) => t.scrollWidth <= t.clientWidth);
      assert.ok(mrzFits, "a 44-character MRZ line fits the textarea at 360 px");
      await screenshot(page, "06-mobile-form");
      const out = await submit(page);
      assert.equal(out.state, "device", `page shows ${JSON.stringify(out)}`);
      assert.ok(await fits(), "no sideways scrolling on the result");
      await screenshot(page, "07-mobile-device-step");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  // Issue 12: a name close to a listed one is a neutral manual check for
  // the applicant: no screening, no list, no per-check result for it.
  test("a listed name reads as a neutral check of a few details", T, async () => {
    const { context, page, problems } = await start();
    try {
      await fillForm(page, applicant({ surname: "Islambouli", givenNames: "Mohammad Shawqi",
                                       birthDate: "1955-01-15" }));
      const out = await submit(page);
      assert.equal(out.state, "identity_review", `page shows ${JSON.stringify(out)}`);
      assert.deepEqual(out.reasons, ["manual_check"]);
      assert.equal(out.view, "review");
      assert.equal(await visibleText(page, "#review-heading"), "We need to check a few details");
      assert.match(await visibleText(page, "[data-testid=review-hours]"),
                   /This usually takes 24 hours\./);
      assert.match(await page.locator("[data-testid=reason-manual_check]").innerText(),
                   /few details/);
      for (const check of ["sanctions", "duplicate"])
        assert.equal(await page.locator(`[data-testid=check-${check}]`).count(), 0, check);
      const shown = await page.locator("#view-review").innerText();
      assert.doesNotMatch(shown, /screen|sanction|list|regulat|duplicate|already/i, shown);
      await screenshot(page, "09-manual-check");

      await page.click("[data-testid=lang-fr]");
      assert.equal(await visibleText(page, "#review-heading"),
                   "Nous devons vérifier quelques informations");
      assert.match(await visibleText(page, "[data-testid=review-hours]"),
                   /Cela prend généralement 24 heures\./);
      const fr = await page.locator("#view-review").innerText();
      assert.doesNotMatch(fr, /sanction|liste|réglementaire|déjà/i, fr);
      await screenshot(page, "10-manual-check-fr");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("switching to French shows French text", T, async () => {
    const { context, page, problems } = await start();
    try {
      await page.click("[data-testid=lang-fr]");
      assert.equal(await page.getAttribute("html", "lang"), "fr");
      assert.equal(await visibleText(page, "h1"), "Ouvrir votre compte");
      assert.equal(await visibleText(page, "label[for=given-names]"), "Prénoms");
      assert.equal(await page.getAttribute("[data-testid=lang-fr]", "aria-pressed"), "true");
      assert.match(await page.locator("#nationality option[value=DEU]").innerText(), /Allemagne/);

      await fillForm(page, applicant({ expiryDate: dateFromToday(-2) }));
      const out = await submit(page);
      assert.ok(out.reasons.includes("document_expired"), `page shows ${JSON.stringify(out)}`);
      const reason = page.locator("[data-testid=reason-document_expired]");
      assert.match(await reason.innerText(), /Document expiré/);
      assert.match(await reason.innerText(), /date d'expiration de votre document est dépassée/);
      assert.match(await visibleText(page, "[data-testid=enrolment-state]"), /Statut/);
      await screenshot(page, "08-french-result");

      // Back to English redraws the result, and the choice survives a reload.
      await page.click("[data-testid=lang-en]");
      assert.match(await reason.innerText(), /Document expired/);
      await page.click("[data-testid=lang-fr]");
      await page.reload();
      await page.locator("[data-testid=reason-document_expired]").waitFor();
      assert.match(await page.locator("[data-testid=reason-document_expired]").innerText(),
                   /Document expiré/);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a French browser gets the French page by default", T, async () => {
    const { context, page, problems } = await start({ locale: "fr-FR" });
    try {
      assert.equal(await page.getAttribute("html", "lang"), "fr");
      assert.equal(await visibleText(page, "#form-heading"), "Votre identité");
      assert.match(await page.title(), /Votre identité/);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("keyboard only: labels, visible focus, Tab order, Enter submits", T, async () => {
    const { context, page, problems } = await start();
    try {
      const unlabelled = await page.$$eval("input, select, textarea",
        (els) => els.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
      assert.deepEqual(unlabelled, [], "every input has a <label>");

      const order = ["given-names", "surname", "birth-date", "nationality",
                     "residence-country", "email", "phone", "mrz"];
      // Day and month equal: Chromium's date field takes digits in the
      // browser's own locale order (day-month or month-day); this is both.
      const dm = "0" + (1 + Math.floor(Math.random() * 9));
      const a = applicant({ birthDate: `19${70 + Math.floor(Math.random() * 25)}-${dm}-${dm}` });
      const typed = {
        "given-names": a.givenNames, surname: a.surname, email: a.email,
        phone: a.phone, mrz: a.mrz,
      };
      // Tab from the top of the page to the first field.
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(() => document.activeElement.id) === "given-names")
          break;
      }
      for (const id of order) {
        assert.equal(await page.evaluate(() => document.activeElement.id), id, "Tab order");
        const ring = await page.evaluate(() => {
          const s = getComputedStyle(document.activeElement);
          return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
        });
        assert.ok(ring.style !== "none" && ring.width >= 2, `${id} shows where focus is`);
        if (id === "birth-date") {
          const [y, m, d] = a.birthDate.split("-");
          await page.keyboard.type(d + m + y);
          assert.equal(await page.inputValue("#birth-date"), a.birthDate);
        } else if (id === "nationality" || id === "residence-country") {
          await page.keyboard.type("France");
          assert.equal(await page.inputValue("#" + id), "FRA");
        } else if (id === "mrz") {
          const [l1, l2] = a.mrz.split("\n");
          await page.keyboard.type(l1);
          await page.keyboard.press("Enter");
          await page.keyboard.type(l2);
        } else {
          await page.keyboard.type(typed[id]);
        }
        // Tab on to the next control (a date field has inner stops: its
        // parts and its calendar button).
        for (let i = 0; i < 4; i++) {
          await page.keyboard.press("Tab");
          if (await page.evaluate(() => document.activeElement.id) !== id)
            break;
        }
      }
      // Past the MRZ, Tab reaches the submit button.
      assert.equal(await page.evaluate(() => document.activeElement.id), "submit");
      await page.keyboard.press("Enter");
      const out = await outcome(page);
      assert.equal(out.state, "device", `page shows ${JSON.stringify(out)}`);
      assert.equal(await page.evaluate(() => document.activeElement.id), "device-heading");
      await screenshot(page, "09-keyboard-device-step");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a double click creates one enrolment, and a lost answer is retried with the same key", T, async () => {
    const { context, page, problems } = await start();
    try {
      const keys = [];
      let firstId = null;
      // The first answer is lost on its way back (the server did act on it),
      // and with it its session cookie; the second goes through untouched.
      await page.route("**/v1/enrolments", async (route) => {
        const req = route.request();
        if (req.method() !== "POST")
          return route.continue();
        keys.push(req.headers()["idempotency-key"]);
        if (keys.length === 1) {
          const res = await route.fetch();
          firstId = (await res.json()).id;
          await context.clearCookies();
          return route.abort("connectionreset");
        }
        return route.continue();
      });
      await fillForm(page, applicant());
      await page.dblclick("#submit");
      const lost = await outcome(page);
      assert.match(lost.banner || "", /could not reach our server/, JSON.stringify(lost));
      assert.equal(keys.length, 1, "a double click sends one request");
      assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      // The replay is the first answer without a session (whoever replays
      // a key must not get one): the page offers the e-mailed link for the
      // enrolment the first request made.
      await page.click("#submit");
      await page.locator("#session-heading", { hasText: "We already have this application" })
        .waitFor({ state: "visible" });
      assert.equal(keys.length, 2);
      assert.equal(keys[1], keys[0], "the retry re-uses the Idempotency-Key");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("guichet.enrolment")), firstId,
                   "the server replayed the first answer instead of enrolling twice");
      await page.click("[data-testid=send-link]");
      await page.locator("[data-testid=resume-sent]").waitFor({ state: "visible" });
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a lost session offers a resume link; a bad link is refused cleanly", T, async () => {
    const { context, page, problems } = await start();
    try {
      await fillForm(page, applicant());
      const out = await submit(page);
      assert.equal(out.state, "device", `page shows ${JSON.stringify(out)}`);
      const id = await visibleText(page, "[data-testid=enrolment-id]");

      // Without its session cookie the enrolment cannot be read: the page
      // offers the e-mailed link instead of leaking or losing anything.
      await context.clearCookies();
      await page.reload();
      await page.locator("[data-testid=view-session]").waitFor({ state: "visible" });
      await page.click("[data-testid=send-link]");
      await page.locator("[data-testid=resume-sent]").waitFor({ state: "visible" });
      assert.match(await page.locator("[data-testid=resume-sent]").innerText(),
                   /If this application exists, we have sent a link/);
      await screenshot(page, "10-resume-link-sent");

      // A link with a wrong token: refused, and the token leaves the address bar.
      await page.goto(`${S.base}/#resume=${encodeURIComponent(id)}.AAAAAAAAAAAAAAAAAAAAAA`);
      await page.locator("#session-heading", { hasText: "link can no longer be used" })
        .waitFor({ state: "visible" });
      assert.equal(await page.evaluate(() => location.hash), "");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("the e-mailed link resumes the enrolment in a new session", {
    ...T,
    skip: !process.env.GUICHET_DATABASE_URL && "needs GUICHET_DATABASE_URL to read the outbox",
  }, async () => {
    const { context, page, problems } = await start();
    try {
      const a = applicant();
      await fillForm(page, a);
      const out = await submit(page);
      assert.equal(out.state, "device", `page shows ${JSON.stringify(out)}`);
      const id = await visibleText(page, "[data-testid=enrolment-id]");

      await context.clearCookies();
      await page.reload();
      await page.click("[data-testid=send-link]");
      await page.locator("[data-testid=resume-sent]").waitFor({ state: "visible" });
      const link = resumeLinkFor(a.email);
      assert.ok(link.startsWith(id + "."), "the link names this enrolment");

      // Opened in a fresh tab, as from the mail client.
      const tab = await context.newPage();
      await tab.goto(`${S.base}/#resume=${link}`);
      await tab.locator("[data-testid=view-device]").waitFor({ state: "visible" });
      assert.equal(await visibleText(tab, "[data-testid=enrolment-id]"), id);
      assert.equal(await tab.evaluate(() => location.hash), "", "the token leaves the address bar");
      // The new session cookie works for a reload.
      await tab.reload();
      await tab.locator("[data-testid=view-device]").waitFor({ state: "visible" });
      await screenshot(tab, "11-resumed");

      // The link works once.
      await context.clearCookies();
      await tab.goto(`${S.base}/#resume=${link}`);
      await tab.locator("#session-heading", { hasText: "link can no longer be used" })
        .waitFor({ state: "visible" });
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("an idle session ends and the page offers a link", {
    ...T,
    skip: !process.env.GUICHET_E2E_SESSION_IDLE_S
      && "needs GUICHET_E2E_SESSION_IDLE_S (the server's short session_idle_s)",
  }, async () => {
    const { context, page, problems } = await start();
    try {
      await fillForm(page, applicant());
      const out = await submit(page);
      assert.equal(out.state, "device", `page shows ${JSON.stringify(out)}`);
      // + 3 s: the device step's own requests (challenge, QR, status)
      // touch the session a moment after the form's answer.
      await sleep((Number(process.env.GUICHET_E2E_SESSION_IDLE_S) + 3) * 1000);
      await page.reload();
      await page.locator("[data-testid=view-session]").waitFor({ state: "visible" });
      assert.match(await visibleText(page, "#session-heading"), /Your session has ended/);
      assert.ok(await page.locator("[data-testid=send-link]").isVisible());
      await screenshot(page, "12-session-ended");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

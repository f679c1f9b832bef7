// SPDX-License-Identifier: AGPL-3.0-or-later
//
// applicant.test.mjs -- the enrolment form as applicants fill it (issue
// 14): every field the server finds wrong is shown at once next to its
// input; a mobile number typed the national way is read for the country of
// residence; the date of birth is typed day/month/year in the page's
// language.  Needs GUICHET_BASE_URL; with GUICHET_DATABASE_URL it also
// checks what was stored.  Screenshots: tests/artifacts/e2e/a*.png.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";

import { assertNoProblems, browserSuite, fillForm, openEnrolment, openPage, outcome, screenshot } from "./lib/browser.mjs";
import { applicant } from "./lib/mrz.mjs";

const T = { timeout: 90000 };
const S = browserSuite();
const DB = process.env.GUICHET_DATABASE_URL;

export function sql (query, ...vars) {
  const args = [DB, "-XAtq", "-v", "ON_ERROR_STOP=1"];
  vars.forEach((v, i) => args.push("-v", `v${i + 1}=${v}`));
  return execFileSync("psql", args, { input: query + "\n", encoding: "utf8" }).trim();
}

// "1985-04-12" -> "12/04/1985"
const dmy = (iso) => iso.split("-").reverse().join("/");

describe("applicant form", () => {
  test("every field the server refuses is shown at once, next to it", T, async () => {
    const { context, page, problems } = await openEnrolment(S);
    try {
      let posts = 0;
      page.on("request", (r) => {
        if (r.method() === "POST" && new URL(r.url()).pathname === "/v1/enrolments")
          posts++;
      });
      const a = applicant({ email: "anna@localhost", phone: "12" });
      await fillForm(page, a);
      await page.fill("#birth-date", dmy(a.birthDate));
      await page.click("#submit");
      const out = await outcome(page);
      assert.equal(posts, 1, "one round trip");
      assert.deepEqual(out.fieldErrors.map((e) => e.split(":")[0]).sort(),
                       ["email-error", "phone-error"], JSON.stringify(out));
      assert.equal(await page.getAttribute("#email", "aria-invalid"), "true");
      assert.equal(await page.getAttribute("#phone", "aria-invalid"), "true");
      assert.match(await page.locator("#phone-error").innerText(), /06 12 34 56 78/);
      assert.equal(await page.evaluate(() => document.activeElement.id), "email",
                   "focus goes to the first field in error");
      for (const id of ["email", "phone"]) {
        const box = await page.locator("#" + id).boundingBox();
        const err = await page.locator(`#${id}-error`).boundingBox();
        assert.ok(err.y >= box.y + box.height - 1 && err.y - (box.y + box.height) < 40,
                  `the ${id} message sits right under its field`);
      }
      await screenshot(page, "a01-all-field-errors");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a French number typed the French way, a date typed day/month/year", T, async () => {
    const { context, page, problems } = await openEnrolment(S, { locale: "fr-FR" });
    try {
      await page.click("#lang-fr");
      assert.equal(await page.getAttribute("#birth-date", "placeholder"), "JJ/MM/AAAA");
      assert.equal(await page.getAttribute("#birth-date", "type"), "text",
                   "no browser date picker in mm/dd/yyyy");
      const a = applicant({ phone: "06 12 34 56 78" });
      await fillForm(page, a);
      await page.fill("#birth-date", "31/02/1985");
      await page.click("#submit");
      await page.locator("#birth-date-error").waitFor({ state: "visible" });
      assert.match(await page.locator("#birth-date-error").innerText(), /jour, mois et année/);
      await screenshot(page, "a02-date-checked-fr");
      await page.fill("#birth-date", dmy(a.birthDate));
      await screenshot(page, "a03-form-fr-national-phone");
      await page.click("#submit");
      const out = await outcome(page);
      assert.equal(out.state, "device", JSON.stringify(out));
      const id = (await page.locator("[data-testid=enrolment-id]").innerText()).trim();
      if (DB) {
        assert.equal(sql("SELECT applicant->>'phone' FROM enrolments WHERE id = :'v1'", id),
                     "+33612345678");
        assert.equal(sql("SELECT applicant->>'birth_date' FROM enrolments WHERE id = :'v1'", id),
                     a.birthDate);
      }
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

// The TD3 zone of applicant @a with the character at (line, pos) of its
// second line changed: a typing mistake a check digit catches.
function mistyped (mrz, pos) {
  const [l1, l2] = mrz.split("\n");
  const c = l2[pos] === "7" ? "3" : "7";
  return l1 + "\n" + l2.slice(0, pos) + c + l2.slice(pos + 1);
}

describe("machine-readable zone", () => {
  test("pasted on one line in lower case, it is tidied and accepted", T, async () => {
    const { context, page, problems } = await openEnrolment(S);
    try {
      const a = applicant();
      await fillForm(page, { ...a, mrz: a.mrz.replace("\n", " ").toLowerCase() });
      await screenshot(page, "a04-mrz-pasted-one-line");
      await page.click("#submit");
      const out = await outcome(page);
      assert.equal(out.state, "device", JSON.stringify(out));
      assert.equal(await page.evaluate(() => document.getElementById("mrz").value), a.mrz,
                   "the box shows the zone as sent: capitals, one line per line");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a check digit that does not match names the part to read again, before sending", T, async () => {
    const { context, page, problems } = await openEnrolment(S);
    try {
      let posts = 0;
      page.on("request", (r) => {
        if (r.method() === "POST")
          posts++;
      });
      const a = applicant();
      // TD3 line 2: birth date 14-19, its digit 20.
      await fillForm(page, { ...a, mrz: mistyped(a.mrz, 15) });
      await page.click("#submit");
      await page.locator("#mrz-error").waitFor({ state: "visible" });
      const text = await page.locator("#mrz-error").innerText();
      assert.match(text, /date of birth \(line 2, characters 14 to 19\)/);
      assert.match(text, /Read this part again/);
      assert.equal(posts, 0, "nothing was sent");
      await screenshot(page, "a05-mrz-check-digit-birth");
      await page.click("#lang-fr");
      assert.match(await page.locator("#mrz-error").innerText(), /Relisez cette partie/);
      await page.click("#lang-en");
      // The document number and the last digit too.
      for (const [pos, re] of [[3, /document number \(line 2, characters 1 to 9\)/],
                               [43, /last check digit \(line 2, character 44\)/]]) {
        await page.fill("#mrz", mistyped(a.mrz, pos));
        await page.click("#submit");
        await page.waitForFunction((r) => new RegExp(r).test(
          document.getElementById("mrz-error").textContent), re.source);
      }
      assert.equal(posts, 0, "nothing was sent");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("a check digit the server refuses is named on the result", T, async () => {
    const { context, page, problems } = await openEnrolment(S);
    try {
      const a = applicant();
      const bad = mistyped(a.mrz, 21);     // expiry date, its digit left as is
      // The page would catch it: send it as another client would, then
      // open the enrolment in the page.
      const r = await page.evaluate(async (body) => {
        const res = await fetch("/v1/enrolments", { method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        return res.json();
      }, { applicant: { given_names: a.givenNames, surname: a.surname, birth_date: a.birthDate,
                        nationality: "FRA", residence_country: "FRA", email: a.email, phone: a.phone },
           document: { mrz: bad } });
      assert.equal(r.state, "rejected");
      await page.evaluate((id) => sessionStorage.setItem("guichet.enrolment", id), r.id);
      await page.reload();
      const field = page.locator("[data-testid=mrz-field]");
      await field.waitFor({ state: "visible" });
      assert.equal(await field.getAttribute("data-field"), "expiry_date");
      assert.match(await field.innerText(), /expiry date's: read this part again/);
      await screenshot(page, "a06-mrz-check-digit-server");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

describe("typed data against the document", () => {
  test("a swapped day and month is offered for correction, then passes", T, async () => {
    const { context, page, problems } = await openEnrolment(S, { locale: "fr-FR" });
    try {
      await page.click("#lang-fr");
      const a = applicant({ birthDate: "1985-04-12" });
      await fillForm(page, a);
      await page.fill("#birth-date", "04/12/1985");        // day and month swapped
      await page.click("#submit");
      await page.locator("#use-document-birth-date").waitFor({ state: "visible" });
      assert.match(await page.locator("#birth-date-error").innerText(), /Votre document indique : 12\/04\/1985/);
      assert.ok(await page.locator("#mismatch-note").isVisible());
      assert.equal(await page.locator("#status").isVisible(), false, "no enrolment yet");
      if (DB)
        assert.equal(sql("SELECT count(*) FROM enrolments WHERE applicant->>'email' = :'v1'", a.email), "0");
      await screenshot(page, "a07-mismatch-offered-fr");
      await page.click("#use-document-birth-date");
      assert.equal(await page.inputValue("#birth-date"), "12/04/1985");
      await page.click("#submit");
      const out = await outcome(page);
      assert.equal(out.state, "device", JSON.stringify(out));
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("kept after the offer, the difference goes to a person", T, async () => {
    const { context, page, problems } = await openEnrolment(S);
    try {
      const a = applicant();
      await fillForm(page, { ...a, surname: a.surname + "x" });
      await page.click("#submit");
      await page.locator("#use-document-surname").waitFor({ state: "visible" });
      assert.match(await page.locator("#surname-error").innerText(), new RegExp(a.surname.toUpperCase()));
      await page.click("#submit");
      const out = await outcome(page);
      assert.equal(out.state, "identity_review", JSON.stringify(out));
      // The wait says what happens next and how long it usually takes.
      assert.match(await page.locator("#review-hours").innerText(), /usually takes 24 hours/);
      assert.match(await page.locator("[data-testid=review-next]").innerText(),
                   /compares your details[\s\S]*e-mail address you gave[\s\S]*link to continue/);
      await screenshot(page, "a08-mismatch-kept-review");
      // A session that ended says what to do and how long the link lasts.
      await context.clearCookies();
      await page.reload();
      await page.locator("[data-testid=view-session]").waitFor({ state: "visible" });
      const next = await page.locator("[data-testid=session-next]").innerText();
      assert.match(next, /within a few minutes/);
      assert.match(next, /within an hour/);
      assert.match(await page.locator("#session-text").innerText(), /after \d+ minutes without activity/);
      await screenshot(page, "a14-session-ended-next");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

// A guichetd on the same database with the page's links configured (and,
// as the suite's own, the OFAC list and limits no test reaches).
const SUITE_RATES = Object.fromEntries(["enrolment_per_address", "activation_per_address",
  "activation_per_challenge", "pin_per_enrolment"].map((k) => [`GUICHET_RATE_${k.toUpperCase()}`, "1000000/s"]));
const CONFIGURED = {
  ...SUITE_RATES,
  GUICHET_SANCTIONS_DIR: new URL("../../../shared/data/sanctions/ofac", import.meta.url).pathname,
  GUICHET_WEB_ROOT: new URL("../../web", import.meta.url).pathname,
  GUICHET_APP_NAME: "Banque Appli",
  GUICHET_APP_STORE_URL: "https://apps.apple.com/app/id000000001",
  GUICHET_PLAY_STORE_URL: "https://play.google.com/store/apps/details?id=example.bank",
  GUICHET_CONTACT_EMAIL: "aide@bank.example",
  GUICHET_CONTACT_PHONE: "+33 1 23 45 67 89",
  GUICHET_CONTACT_HOURS: "lun.-ven. 9 h-18 h",
  GUICHET_HELP_URL: "https://bank.example/aide",
  GUICHET_PRIVACY_URL: "https://bank.example/confidentialite",
  GUICHET_LEGAL_URL: "https://bank.example/mentions-legales",
};

async function toDeviceStep (page, base) {
  await page.goto(base + "/");
  await page.locator("#view-form").waitFor({ state: "visible" });
  await fillForm(page, applicant());
  await page.click("#submit");
  const out = await outcome(page);
  assert.equal(out.state, "device", JSON.stringify(out));
  await page.locator("#qr[data-challenge]").waitFor({ timeout: 15000 });
}

describe("before the QR code", () => {
  test("which app, where to get it, which PIN; contact and links in the footer", T, async (t) => {
    if (!DB || !process.env.GUICHET_MASTER_KEY_FILE)
      return t.skip("needs GUICHET_DATABASE_URL and GUICHET_MASTER_KEY_FILE");
    if (S.error)
      throw S.error;
    const { startGuichetd } = await import("./lib/payment.mjs");
    const srv = await startGuichetd(CONFIGURED);
    const { context, page, problems } = await openPage(S.browser);
    try {
      await toDeviceStep(page, srv.base);
      assert.match(await page.locator("#app-install-heading").innerText(), /Install the Banque Appli app/);
      assert.equal(await page.getAttribute("#store-apple", "href"), CONFIGURED.GUICHET_APP_STORE_URL);
      assert.equal(await page.getAttribute("#store-google", "href"), CONFIGURED.GUICHET_PLAY_STORE_URL);
      assert.ok(await page.locator("#store-apple").isVisible());
      const pin = await page.locator("#pin-explained").innerText();
      assert.match(pin, /bank PIN/);
      assert.match(pin, /not the code that unlocks your phone or the app/);
      assert.equal(await page.locator("#open-app").isVisible(), false, "a computer shows the QR first");
      assert.match(await page.getAttribute("#qr-link", "href"), /^\/app\/#guichet:\/\/activate\?v=1&/);
      // The footer: contact and the bank's pages.
      assert.equal(await page.getAttribute("#contact-email", "href"), "mailto:aide@bank.example");
      assert.equal(await page.getAttribute("#contact-phone", "href"), "tel:+33123456789");
      assert.match(await page.locator("#contact-hours").innerText(), /lun\.-ven\./);
      assert.equal(await page.getAttribute("#link-help", "href"), CONFIGURED.GUICHET_HELP_URL);
      assert.equal(await page.getAttribute("#link-privacy", "href"), CONFIGURED.GUICHET_PRIVACY_URL);
      assert.equal(await page.getAttribute("#link-legal", "href"), CONFIGURED.GUICHET_LEGAL_URL);
      await screenshot(page, "a09-device-step-configured");
      await page.click("#lang-fr");
      assert.match(await page.locator("#app-install-heading").innerText(), /Installez l'application Banque Appli/);
      assert.match(await page.locator("#pin-explained").innerText(), /code PIN bancaire/);
      assert.match(await page.locator("#link-legal").innerText(), /Mentions légales/);
      await screenshot(page, "a10-device-step-configured-fr");
      await assertNoProblems(problems);
    } finally {
      await context.close();
      srv.stop();
    }
  });

  test("on a phone, open the app on this phone comes before the QR", T, async () => {
    if (S.error)
      throw S.error;
    const context = await S.browser.newContext({
      viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "en-GB",
      userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        + "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    });
    const page = await context.newPage();
    try {
      await toDeviceStep(page, S.base);
      const open = page.locator("#open-app-link");
      await open.waitFor({ state: "visible" });
      assert.match(await open.getAttribute("href"), /^\/app\/#guichet:\/\/activate\?v=1&/);
      assert.match(await open.innerText(), /Open the app on this phone/);
      const openBox = await open.boundingBox();
      const qrBox = await page.locator("#qr").boundingBox();
      assert.ok(openBox.y < qrBox.y, "the app link comes first");
      assert.match(await page.locator("#qr-heading").innerText(), /another phone/);
      assert.equal(await page.locator("#qr-same-phone").isVisible(), false);
      assert.ok(await page.evaluate(() =>
        document.documentElement.scrollWidth <= document.documentElement.clientWidth),
      "no sideways scrolling at 390 px");
      // Without configured store links: the generic words, no dead link.
      assert.match(await page.locator("#app-install-where").innerText(), /app store/);
      assert.equal(await page.locator("#store-links").isVisible(), false);
      assert.equal(await page.locator("#footer-links").isVisible(), false);
      await screenshot(page, "a11-device-step-phone");
    } finally {
      await context.close();
    }
  });
});

describe("the customer reference", () => {
  test("ten digits in groups, a copy button, the next steps; the id stays for APIs", T, async () => {
    const { Phone } = await import("./lib/phone.mjs");
    const { toCredentialStep } = await import("./lib/enrolment.mjs");
    const { context, page, problems } = await openEnrolment(S, { viewport: { width: 390, height: 844 } });
    const phone = new Phone();
    try {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: S.base });
      await toCredentialStep(page, phone, "a-qr");
      // The choice of credential is a step of its own in the progress bar.
      assert.equal(await page.locator("#progress li").count(), 5);
      assert.equal(await page.getAttribute("#progress li[data-step=credential]", "aria-current"), "step");
      assert.equal(await page.getAttribute("#progress li[data-step=pin]", "class"), "is-done");
      await screenshot(page, "a15-progress-credential-step");
      await page.check("#kind-device");
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/credential")),
        page.click("#credential-submit"),
      ]);
      const answer = await res.json();
      await page.locator("[data-testid=view-completed]").waitFor({ state: "visible", timeout: 15000 });
      const ref = answer.customer_reference;
      assert.match(ref, /^[1-9]\d{9}$/);
      const shown = (await page.locator("[data-testid=customer-reference]").innerText()).trim();
      assert.equal(shown, `${ref.slice(0, 3)} ${ref.slice(3, 6)} ${ref.slice(6, 9)} ${ref.slice(9)}`);
      assert.equal(await page.locator("[data-testid=customer-id]").isVisible(), false,
                   "the internal id is not what people are shown");
      assert.equal((await page.locator("[data-testid=customer-id]").textContent()).trim(), answer.customer_id);
      assert.match(await page.locator("#completed-reference").innerText(), /also send it to you by e-mail/);
      assert.match(await page.locator("[data-testid=completed-next]").innerText(), /welcome e-mail/);
      await page.click("#copy-reference");
      await page.locator("#copy-status:not(:empty)").waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ref);
      if (DB)
        assert.equal(sql("SELECT reference FROM customers WHERE id = :'v1'", answer.customer_id), ref);
      assert.ok(await page.evaluate(() =>
        document.documentElement.scrollWidth <= document.documentElement.clientWidth));
      await screenshot(page, "a12-completed-reference");
      // A reload still shows it (the server says it again).
      await page.evaluate(() => sessionStorage.removeItem("guichet.completed"));
      await page.reload();
      await page.locator("[data-testid=customer-reference]").waitFor({ state: "visible" });
      assert.equal((await page.locator("[data-testid=customer-reference]").innerText()).trim(), shown);
      await page.click("#lang-fr");
      assert.match(await page.locator("#completed-reference").innerText(), /Votre référence client/);
      await screenshot(page, "a13-completed-reference-fr");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });
});

describe("words and layout", () => {
  test("no message ends with stray punctuation", async () => {
    const { MESSAGES } = await import("../../web/enrol/i18n.js");
    // Texts shown alone (errors, refusals, explanations); list items that
    // always come with others (rules, steps) may end with ";".
    const alone = /^(err\.|error\.|pin\.reason\.|pin\.refused|mismatch\.|reason\.|mrz_field\.|next\.|done\.next_|view\.[a-z_]+\.text)/;
    for (const [lang, msgs] of Object.entries(MESSAGES))
      for (const [key, text] of Object.entries(msgs)) {
        if (alone.test(key))
          assert.doesNotMatch(text, /[;,]\s*$/, `${lang} ${key}: ${text}`);
        // An error introduces no list: it ends as a sentence.
        if (/^(err\.|error\.|pin\.reason\.|pin\.refused)/.test(key))
          assert.match(text, /[.!?)]$/, `${lang} ${key}: ${text}`);
      }
  });

  test("the MRZ example and input fit a 390 px screen", T, async () => {
    const { context, page, problems } = await openEnrolment(S, { viewport: { width: 390, height: 844 } });
    try {
      const a = applicant();
      await fillForm(page, a);
      const fit = await page.evaluate(() => {
        const ok = (e) => e.scrollWidth <= e.clientWidth;
        return { input: ok(document.getElementById("mrz")),
                 example: ok(document.querySelector(".mrz-example")),
                 page: ok(document.documentElement) };
      });
      assert.deepEqual(fit, { input: true, example: true, page: true });
      await page.locator("#mrz").scrollIntoViewIfNeeded();
      await screenshot(page, "a16-mrz-390px");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

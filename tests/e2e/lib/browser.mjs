// SPDX-License-Identifier: AGPL-3.0-or-later
//
// browser.mjs -- Debian's Chromium under playwright-core, and what every
// browser test needs around a page: the server's address, a watch on
// Content-Security-Policy violations and script errors, screenshots, and
// filling the enrolment form.
//
// playwright-core brings no browser of its own: the tests use
// /usr/bin/chromium (Debian's package), or GUICHET_CHROMIUM if set.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = resolve(HERE, "../../artifacts/e2e");

export function baseUrl () {
  const url = process.env.GUICHET_BASE_URL;
  if (!url)
    throw new Error("GUICHET_BASE_URL is not set: start guichetd and point it there, "
                    + "e.g. GUICHET_BASE_URL=http://127.0.0.1:8080");
  return url.replace(/\/+$/, "");
}

// extraArgs: more Chromium flags (e.g. a fake camera, lib/camera.mjs).
export async function launch (extraArgs = []) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.GUICHET_CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--disable-quic", ...extraArgs],
  });
}

// A fresh browser context (own cookies and storage) and page, watched:
// problems() lists CSP violations (from the console and from the
// securitypolicyviolation event) and uncaught script errors.
export async function openPage (browser, { viewport = { width: 1024, height: 900 },
                                           locale = "en-GB" } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  const seen = [];
  page.on("console", (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text()))
      seen.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => seen.push(`page error: ${err.message}`));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  const problems = async () => {
    let fromPage = [];
    try { fromPage = await page.evaluate(() => window.__csp || []); } catch (e) { /* closed */ }
    return [...seen, ...fromPage.map((v) => `securitypolicyviolation: ${v}`)];
  };
  return { context, page, problems };
}

export async function assertNoProblems (problems) {
  assert.deepEqual(await problems(), [], "CSP violations or script errors on the page");
}

export async function screenshot (page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Fills the enrolment form with an applicant from mrz.mjs.
export async function fillForm (page, a) {
  await page.fill("#given-names", a.givenNames);
  await page.fill("#surname", a.surname);
  // As the hint says: day/month/year (a.birthDate is YYYY-MM-DD).
  await page.fill("#birth-date", a.birthDate.split("-").reverse().join("/"));
  await page.selectOption("#nationality", a.nationality);
  await page.selectOption("#residence-country", a.residence);
  await page.fill("#email", a.email);
  await page.fill("#phone", a.phone);
  await page.fill("#mrz", a.mrz);
}

// Waits until the page has answered a submission one way or another (a
// state, a banner, a field error) and says which, so a failure reads as
// what the applicant saw rather than as a timeout.
export async function outcome (page, timeout = 20000) {
  await page.waitForFunction(() => {
    const visible = (id) => { const e = document.getElementById(id); return e && !e.hidden; };
    return visible("status") || visible("banner") || visible("view-session")
      || document.querySelector(".field-error:not(:empty)");
  }, null, { timeout });
  return page.evaluate(() => ({
    state: document.getElementById("status").hidden
      ? null : document.getElementById("status").dataset.state,
    view: [...document.querySelectorAll("[data-view]")].find((s) => !s.hidden)?.dataset.view,
    banner: document.getElementById("banner").hidden ? null : document.getElementById("banner").textContent,
    fieldErrors: [...document.querySelectorAll(".field-error:not(:empty)")]
      .map((e) => `${e.id}: ${e.textContent}`),
    reasons: [...document.querySelectorAll("[data-reason]")].map((e) => e.dataset.reason),
  }));
}

// One Chromium for a whole test file.  A setup failure (no URL, no
// Chromium) is kept and thrown by every test, so it shows in the "# fail"
// count rather than as "cancelled".
export function browserSuite () {
  const suite = { base: null, browser: null, error: null };
  before(async () => {
    try {
      suite.base = baseUrl();
      suite.browser = await launch();
    } catch (e) {
      suite.error = e;
    }
  });
  after(async () => {
    if (suite.browser)
      await suite.browser.close();
  });
  return suite;
}

// Opens the enrolment page in a new context, checks it came with the strict
// CSP, and waits for the applicant form.  @return the openPage() handles.
export async function openEnrolment (suite, opts) {
  if (suite.error)
    throw suite.error;
  const h = await openPage(suite.browser, opts);
  const res = await h.page.goto(suite.base + "/");
  assert.equal(res.status(), 200);
  const csp = res.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/, "the page must be served with its CSP");
  assert.doesNotMatch(csp, /unsafe-inline/);
  await h.page.locator("#view-form").waitFor({ state: "visible" });
  return h;
}

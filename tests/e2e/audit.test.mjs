// SPDX-License-Identifier: AGPL-3.0-or-later
//
// audit.test.mjs -- the audit log page in a real browser against a real
// guichetd (issue 14): the action is chosen from a list in words, a date
// range narrows the entries (a start after the end is refused next to the
// field), and "Export as CSV" downloads the same filters, which the server
// audits.  Needs GUICHET_DATABASE_URL and an admin CLI
// (lib/backoffice.mjs), else skipped.  Screenshots:
// tests/artifacts/e2e/bo-7[5-9]*.png.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { psql } from "./lib/phone.mjs";

const T = { timeout: 120000 };
const SKIP = adminCliProblem() || (process.env.GUICHET_DATABASE_URL ? null : "no database");
const S = browserSuite();

describe("back-office audit log", () => {
  test("filter by action and dates, export as CSV", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const reviewer = await createAdmin("reviewer");
    const { page, context, problems } = await openPage(S.browser, {});
    try {
      await page.goto(`${S.base}/backoffice/#/audit`);
      await signIn(page, reviewer);
      await page.locator('#audit-table[data-loaded="#/audit"]').waitFor({ state: "attached" });
      const label = await page.locator("#audit-action option[value='admin.login']").innerText();
      assert.equal(label, "Sign-in (admin.login)");
      await page.selectOption("#audit-action", "admin.login");
      await page.fill("#audit-actor", reviewer.username);
      await page.click("#audit-apply");
      await page.locator(`#audit-table[data-loaded="#/audit?actor=${reviewer.username}&action=admin.login"]`)
        .waitFor({ state: "attached" });
      const actions = await page.locator("tr[data-testid=audit-row]").evaluateAll(
        (rows) => rows.map((r) => r.dataset.action));
      assert.deepEqual(actions, ["admin.login"]);

      // a date range: today holds the sign-in, yesterday nothing
      const today = new Date().toISOString().slice(0, 10);
      const y = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
      await page.fill("#audit-from", today);
      await page.fill("#audit-to", today);
      await page.click("#audit-apply");
      await page.locator(`#audit-table[data-loaded*="from=${today}"]`).waitFor({ state: "attached" });
      assert.equal(await page.locator("tr[data-testid=audit-row]").count(), 1);
      await screenshot(page, "bo-75-audit-filtered");
      await page.fill("#audit-from", today);
      await page.fill("#audit-to", y);
      await page.click("#audit-apply");
      assert.match(await page.locator("#audit-from-error").innerText(), /start must be before the end/);
      await page.fill("#audit-from", y);
      await page.fill("#audit-to", y);
      await page.click("#audit-apply");
      await page.locator("[data-testid=audit-empty]").waitFor({ state: "visible" });

      // export what today shows
      await page.fill("#audit-from", today);
      await page.fill("#audit-to", today);
      await page.click("#audit-apply");
      await page.locator(`#audit-table[data-loaded*="to=${today}"]`).waitFor({ state: "attached" });
      const [download] = await Promise.all([page.waitForEvent("download"),
                                            page.click("#audit-export")]);
      const file = await download.path();
      const lines = readFileSync(file, "utf8").trim().split("\r\n");
      assert.equal(lines[0], "id,at,actor,action,target,details,hash");
      assert.equal(lines.length, 2);
      assert.match(lines[1], new RegExp(`,${reviewer.username},admin\\.login,`));
      assert.equal(await psql("SELECT details->>'action' || '|' || (details->>'rows') FROM audit_log"
        + ` WHERE action = 'audit.export' AND actor = '${reviewer.username}'`), "admin.login|1");

      await page.click("[data-testid=lang-fr]");
      assert.equal(await page.locator("#audit-action option[value='admin.login']").innerText(),
                   "Connexion (admin.login)");
      assert.match(await page.locator("#audit-export").innerText(), /Exporter en CSV/);
      await screenshot(page, "bo-76-audit-fr");
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

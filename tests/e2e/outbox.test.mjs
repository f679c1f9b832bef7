// SPDX-License-Identifier: AGPL-3.0-or-later
//
// outbox.test.mjs -- the back-office's Messages view in a real browser
// against a real guichetd: a message that could not be delivered is listed
// with its last error (never its content), staff send it again, and it is
// back in the queue, audited.  The browser tests' server has no SMTP relay
// configured, so the failed row is written with psql as the sender would
// leave it; needs GUICHET_DATABASE_URL and an admin (lib/backoffice.mjs),
// else skipped.  Screenshots go to tests/artifacts/e2e/bo-7*.png.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { adminCliProblem, createAdmin, signIn } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { psql } from "./lib/phone.mjs";

const T = { timeout: 90000 };
const SKIP = adminCliProblem() || (process.env.GUICHET_DATABASE_URL ? null : "no database");
const S = browserSuite();

describe("back-office messages", () => {
  test("a failed message is listed and sent again", { ...T, skip: SKIP || false }, async () => {
    const id = await psql("INSERT INTO outbox (kind, recipient, subject, body, params, state,"
      + " attempts, last_error, failed_at) VALUES ('review_rejected', 'lost@example.org', '',"
      + " '', '{}', 'failed', 5, 'smtp 451: try again later', now()) RETURNING id");
    const admin = await createAdmin("admin");
    if (S.error)
      throw S.error;
    const { page, context, problems } = await openPage(S.browser, {});
    try {
      await page.goto(`${S.base}/backoffice/#/outbox`);
      await signIn(page, admin);
      await page.locator("[data-testid=view-outbox]").waitFor({ state: "visible" });
      const row = page.locator(`[data-testid=outbox-message][data-id=msg_${id}]`);
      await row.waitFor({ state: "visible" });
      const text = await row.innerText();
      assert.match(text, /Application not continued/);
      assert.match(text, /lost@example\.org/);
      assert.match(text, /smtp 451/);
      await screenshot(page, "bo-70-outbox-failed");

      await row.locator("[data-testid=outbox-retry]").click();
      await page.locator(`[data-testid=outbox-message][data-id=msg_${id}]`).waitFor({ state: "detached" });
      assert.match(await page.locator("#notice").innerText(), new RegExp(`msg_${id} is back in the queue`));
      assert.equal(await psql(`SELECT state || '|' || attempts FROM outbox WHERE id = ${id}`), "pending|0");
      assert.equal(await psql("SELECT actor FROM audit_log WHERE action = 'message.retry'"
        + ` AND target = 'msg_${id}'`), admin.username);

      await page.click("[data-testid=outbox-state-pending]");
      await page.locator(`[data-testid=outbox-message][data-id=msg_${id}]`).waitFor({ state: "visible" });
      await page.click("[data-testid=lang-fr]");
      assert.match(await page.locator("#outbox-heading").innerText(), /Messages/);
      assert.match(await page.locator("[data-testid=outbox-state-failed]").innerText(), /Non remis/);
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });
});

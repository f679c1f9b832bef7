// SPDX-License-Identifier: AGPL-3.0-or-later
//
// support.test.mjs -- the back-office's support pages in a real browser
// against a real guichetd: a `support` account (guichetd admin create
// --role support) sees only Customers and Tokens; finds a customer locked
// by real wrong codes (POST /v1/authn/verify with an API key), sees why,
// unlocks only with a comment, revokes the credential only with a reason,
// imports a PSKC file into the token inventory and finds the token by its
// serial.  Every action is checked in the database and the audit log.
// Needs GUICHET_DATABASE_URL and an admin CLI (lib/backoffice.mjs), else
// skipped.  Screenshots: tests/artifacts/e2e/bo-8*.png.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { adminCliProblem, createAdmin, guichetd, signIn } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openPage, screenshot } from "./lib/browser.mjs";
import { psql } from "./lib/phone.mjs";

const T = { timeout: 120000 };
const SKIP = adminCliProblem() || (process.env.GUICHET_DATABASE_URL ? null : "no database");
const S = browserSuite();

// A customer made by the CLI, locked by five wrong codes through the API.
async function lockedCustomer () {
  const ref = "SUP" + randomBytes(4).toString("hex").toUpperCase();
  const c = await guichetd("customer", "create", "--ref", ref, "--pin", "739150", "--otpauth");
  const rp = await guichetd("apikey", "create", "--name", "support-e2e-" + ref.toLowerCase());
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${S.base}/v1/authn/verify`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${rp.key}` },
      body: JSON.stringify({ customer_id: c.customer_id, pin: "739150", otp: "000000" }),
    });
    assert.ok([401, 423].includes(r.status), `verify answered ${r.status}`);
  }
  return { id: c.customer_id, ref };
}

function pskc (serial) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>TokenWorks</Manufacturer><SerialNo>${serial}</SerialNo></DeviceInfo>
    <Key Id="${serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>${randomBytes(20).toString("base64")}</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>
`;
}

async function visibleNav (page) {
  return page.evaluate(() => [...document.querySelectorAll("#mainnav [data-route]")]
    .filter((a) => !a.hidden).map((a) => a.dataset.route));
}

describe("back-office support pages", () => {
  test("navigation shows each role its pages", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const want = { support: ["customers", "tokens"], reviewer: ["reviews", "audit"],
                   advisor: ["assist"],
                   admin: ["reviews", "audit", "assist", "customers", "tokens", "outbox"] };
    for (const [role, pages] of Object.entries(want)) {
      const who = await createAdmin(role);
      const { page, context, problems } = await openPage(S.browser, {});
      try {
        await page.goto(`${S.base}/backoffice/`);
        await signIn(page, who);
        await page.locator("#mainnav").waitFor({ state: "visible" });
        assert.deepEqual(await visibleNav(page), pages, role);
        if (role === "support") {
          await page.locator("[data-testid=view-customers]").waitFor({ state: "visible" });
          assert.match(await page.locator("#whoami").innerText(), /\(support\)/);
          await screenshot(page, "bo-80-support-home");
          // a page of another role: the server refuses, the page says so
          await page.goto(`${S.base}/backoffice/#/reviews`);
          await page.locator("[data-testid=view-forbidden]").waitFor({ state: "visible" });
        }
        if (role === "reviewer") {
          await page.goto(`${S.base}/backoffice/#/customers?q=x`);
          await page.locator("[data-testid=view-forbidden]").waitFor({ state: "visible" });
        }
        await assertNoProblems(problems);
      } finally {
        await context.close();
      }
    }
  });

  test("find a locked customer, unlock and revoke with a comment", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const c = await lockedCustomer();
    const support = await createAdmin("support");
    const { page, context, problems } = await openPage(S.browser, {});
    try {
      await page.goto(`${S.base}/backoffice/#/customers`);
      await signIn(page, support);
      await page.locator("[data-testid=view-customers]").waitFor({ state: "visible" });
      await page.click("#customers-find");
      assert.match(await page.locator("#customers-q-error").innerText(), /customer id/);
      await page.fill("#customers-q", "nobody-" + c.ref);
      await page.click("#customers-find");
      await page.waitForFunction(() => /No customer/.test(document.getElementById("customers-summary").textContent));

      // one hit: straight to the customer
      await page.fill("#customers-q", c.ref);
      await page.click("#customers-find");
      await page.locator("[data-testid=view-customer]").waitFor({ state: "visible" });
      assert.match(await page.locator("#customer-heading").innerText(), new RegExp(c.ref));
      assert.equal(await page.locator("#lock-state").getAttribute("data-locked"), "true");
      assert.match(await page.locator("#lock-state").innerText(), /Locked until .* after 5 wrong attempts/);
      const outcomes = await page.locator("[data-testid=attempt-row]").evaluateAll(
        (rows) => rows.map((r) => r.dataset.outcome));
      assert.deepEqual(outcomes.slice(0, 5), Array(5).fill("otp_invalid"));
      assert.match(await page.locator("[data-testid=attempts-table]").innerText(), /wrong code/);
      assert.match(await page.locator("#devices-none").innerText(), /No phone/);
      await screenshot(page, "bo-81-customer-locked");

      // unlock: a comment first
      await page.click("#unlock-submit");
      assert.match(await page.locator("#unlock-comment-error").innerText(), /Write why you unlock/);
      assert.equal(await psql(`SELECT locked_until > now() FROM customers WHERE id = '${c.id}'`), "t");
      await page.fill("#unlock-comment", "Customer called; call-back on the number on file");
      await page.click("#unlock-submit");
      await page.waitForFunction(() => document.getElementById("lock-state").dataset.locked === "false");
      assert.match(await page.locator("#notice").innerText(), /Unlocked/);
      assert.equal(await psql(`SELECT failed_attempts || '|' || (locked_until IS NULL) FROM customers WHERE id = '${c.id}'`), "0|true");
      assert.equal(await psql(`SELECT actor || '|' || (details->>'comment') FROM audit_log`
        + ` WHERE action = 'customer.unlock' AND target = '${c.id}'`),
                   `${support.username}|Customer called; call-back on the number on file`);
      await screenshot(page, "bo-82-customer-unlocked");

      // revoke: a reason first
      const row = page.locator("[data-testid=credential-row]").first();
      const credId = await row.getAttribute("data-id");
      await row.locator("[data-testid=revoke-credential]").click();
      await page.locator("[data-testid=revoke-form]").waitFor({ state: "visible" });
      assert.match(await page.locator("#revoke-heading").innerText(), new RegExp(credId));
      await page.click("#revoke-submit");
      assert.match(await page.locator("#revoke-reason-error").innerText(), /Write why you revoke/);
      assert.equal(await psql(`SELECT state FROM credentials WHERE id = '${credId}'`), "active");
      await screenshot(page, "bo-83-revoke-form");
      await page.fill("#revoke-reason", "lost");
      await page.click("#revoke-submit");
      await page.locator(`[data-testid=credential-row][data-id=${credId}][data-state=revoked]`)
        .waitFor({ state: "visible" });
      assert.equal(await psql(`SELECT state || '|' || revoked_by FROM credentials WHERE id = '${credId}'`),
                   `revoked|${support.username}`);
      assert.equal(await psql(`SELECT actor || '|' || (details->>'reason') FROM audit_log`
        + ` WHERE action = 'credential.revoke' AND target = '${credId}'`), `${support.username}|lost`);

      await page.click("[data-testid=lang-fr]");
      assert.match(await page.locator("#credentials-heading").innerText(), /Moyens d'authentification/);
      assert.match(await page.locator("#lock-state").innerText(), /Non bloqué/);
      await screenshot(page, "bo-84-customer-fr");
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
    }
  });

  test("import a PSKC file and find the token by serial", { ...T, skip: SKIP || false }, async () => {
    if (S.error)
      throw S.error;
    const support = await createAdmin("support");
    const serial = "E2E" + randomBytes(4).toString("hex").toUpperCase();
    const dir = mkdtempSync(join(tmpdir(), "guichet-e2e-pskc-"));
    const file = join(dir, "tokens.xml");
    const bad = join(dir, "bad.xml");
    writeFileSync(file, pskc(serial));
    writeFileSync(bad, "<not-pskc/>");
    const { page, context, problems } = await openPage(S.browser, {});
    try {
      await page.goto(`${S.base}/backoffice/#/tokens`);
      await signIn(page, support);
      await page.locator("[data-testid=view-tokens]").waitFor({ state: "visible" });

      await page.click("#import-submit");
      assert.match(await page.locator("#import-file-error").innerText(), /Choose the PSKC file/);
      await page.setInputFiles("#import-file", bad);
      await page.click("#import-submit");
      await page.locator("#import-error").waitFor({ state: "visible" });
      assert.match(await page.locator("#import-error").innerText(), /not a PSKC file/);

      await page.setInputFiles("#import-file", file);
      await page.click("#import-submit");
      await page.locator("#import-result").waitFor({ state: "visible" });
      assert.match(await page.locator("#import-result").innerText(), /1 token\(s\) imported, 0 already in stock, 0 refused/);
      assert.equal(await psql(`SELECT state FROM hw_tokens WHERE serial = '${serial}'`), "in_stock");
      assert.equal(await psql("SELECT actor FROM audit_log WHERE action = 'tokens.import'"
        + " ORDER BY id DESC LIMIT 1"), support.username);

      await page.fill("#tokens-serial", serial);
      await page.click("#tokens-apply");
      await page.locator(`[data-testid=token-row][data-serial=${serial}]`).waitFor({ state: "visible" });
      assert.equal(await page.locator("[data-testid=token-row]").count(), 1);
      assert.match(await page.locator("[data-testid=token-row]").innerText(), /In stock/);
      await screenshot(page, "bo-85-tokens");
      await page.selectOption("#tokens-state", "lost");
      await page.click("#tokens-apply");
      await page.locator("[data-testid=tokens-empty]").waitFor({ state: "visible" });
      await page.click("[data-testid=lang-fr]");
      assert.match(await page.locator("#tokens-heading").innerText(), /Jetons matériels/);
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

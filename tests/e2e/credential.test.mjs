// SPDX-License-Identifier: AGPL-3.0-or-later
//
// credential.test.mjs -- the last step of the enrolment page in a real
// browser against a real guichetd (GUICHET_BASE_URL): the three kinds of
// credential, each to state "completed".
//
// Each test first takes a fresh applicant to state "credential" with the
// reference authenticator as the phone (lib/enrolment.mjs), then:
//   - "this phone": one choice, and the page shows the customer reference
//     the server answered, which survives a reload;
//   - "another authenticator app": the QR code on screen is screenshotted
//     and decoded with zbarimg, as an app's camera would; it must be the
//     otpauth:// URI the server answered (and the key shown for typing by
//     hand its secret); npm's otplib computes the code from the decoded URI;
//     a wrong code first shows the attempts left;
//   - "a hardware token": a token is put in the inventory with guichetd's
//     own CLI (`tokens import`, a plain PSKC file with a known HOTP secret),
//     then its serial and its first code (HOTP counter 0) are typed.  Needs
//     GUICHET_DATABASE_URL and GUICHET_MASTER_KEY_FILE (or GUICHET_CLI, see
//     lib/backoffice.mjs); skipped without them.
// Screenshots go to tests/artifacts/e2e/4*.png.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";

import { generate as otplibGenerate } from "otplib";

import { adminCliProblem, guichetd } from "./lib/backoffice.mjs";
import { assertNoProblems, browserSuite, openEnrolment, screenshot } from "./lib/browser.mjs";
import { activeId, fits, serverView, shootQr, toCredentialStep,
         visibleText } from "./lib/enrolment.mjs";
import { decodeQr, Phone } from "./lib/phone.mjs";
import { hotp } from "./lib/totp.mjs";

const T = { timeout: 90000 };
const PHONE = { width: 360, height: 740 };
const S = browserSuite();
const start = (opts) => openEnrolment(S, opts);

// The JSON answer to the next POST whose path ends with suffix, and its
// status, while action() runs (the page makes the request).
async function answerTo (page, suffix, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.endsWith(suffix)),
    action(),
  ]);
  return { status: res.status(), body: await res.json() };
}

// The completed page: the customer reference shown, and the server agrees.
async function assertCompleted (page, id, answer, kind) {
  await page.locator("[data-testid=view-completed]").waitFor({ state: "visible", timeout: 15000 });
  assert.equal(answer.body.state, "completed", JSON.stringify(answer.body));
  assert.equal(answer.body.credentials[0].kind, kind);
  const customer = answer.body.customer_id;
  assert.ok(customer, JSON.stringify(answer.body));
  assert.match(await visibleText(page, "#completed-heading"), /Your account is open/);
  // People read ten digits in groups; the internal id is kept for APIs.
  const ref = answer.body.customer_reference;
  assert.match(ref, /^[1-9]\d{9}$/, JSON.stringify(answer.body));
  assert.equal(await visibleText(page, "[data-testid=customer-reference]"),
               `${ref.slice(0, 3)} ${ref.slice(3, 6)} ${ref.slice(6, 9)} ${ref.slice(9)}`);
  assert.equal((await page.locator("[data-testid=customer-id]").textContent()).trim(), customer);
  assert.equal(await activeId(page), "completed-heading", "focus moves to the last page");
  assert.equal(await page.getAttribute("[data-testid=enrolment-state]", "data-state"), "completed");
  assert.equal(await page.getAttribute("#progress li[data-step=done]", "aria-current"), "step");
  assert.ok(await page.locator("#status-expires-row").isHidden(), "a completed application has no end date");
  const view = await serverView(page, id);
  assert.equal(view.status, 200);
  assert.equal(view.body.state, "completed", JSON.stringify(view.body));
  return customer;
}

// A 6-digit code that is not the one given.
const other = (code) => String((Number(code) + 1) % 1000000).padStart(6, "0");

describe("credential step", () => {
  test("this phone: the three kinds are offered, the phone is chosen, the account is open", T, async () => {
    const { context, page, problems } = await start({ viewport: PHONE });
    const phone = new Phone();
    try {
      const id = await toCredentialStep(page, phone, "40-qr");

      // The three kinds, in plain words, as one radio group with a legend.
      assert.equal(await activeId(page), "credential-heading");
      assert.match(await visibleText(page, "#kind-legend"), /How will you confirm that it is you/);
      const group = page.getByRole("group", { name: /How will you confirm/ });
      assert.equal(await group.getByRole("radio").count(), 3);
      const device = page.getByRole("radio", { name: "This phone" });
      const otpauth = page.getByRole("radio", { name: "Another authenticator app" });
      const hardware = page.getByRole("radio", { name: "A hardware token from your bank" });
      assert.match(await visibleText(page, "#kind-device-hint"), /Guichet app you just registered/);
      assert.match(await visibleText(page, "#kind-otpauth-hint"), /Google Authenticator or FreeOTP/);
      assert.match(await visibleText(page, "#kind-hardware-hint"), /serial number is printed on the back/);
      for (const r of [device, otpauth, hardware])
        assert.equal(await r.isChecked(), false, "nothing is chosen for the applicant");
      assert.ok(await page.locator("#hw-fields").isHidden());
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the choice");
      await screenshot(page, "41-credential-choice");

      // Continue without a choice: said next to the group.
      await page.click("#credential-submit");
      assert.match(await visibleText(page, "#kind-error"), /Choose one of the three ways/);
      assert.equal(await activeId(page), "kind-device");

      // The token's fields show only for a token.
      await hardware.check();
      await page.locator("#hw-fields").waitFor({ state: "visible" });
      assert.ok(await page.locator("#kind-error").isHidden(), "the error goes once a choice is made");

      // French, then back.
      await page.click("[data-testid=lang-fr]");
      assert.match(await visibleText(page, "#kind-legend"), /Comment confirmerez-vous/);
      assert.match(await visibleText(page, "label[for=kind-device]"), /Ce téléphone/);
      assert.ok(await page.isChecked("#kind-hardware"), "a language switch keeps the choice");
      await page.click("[data-testid=lang-en]");

      // This phone, from the keyboard.
      await device.focus();
      await page.keyboard.press("Space");
      assert.ok(await device.isChecked());
      assert.ok(await page.locator("#hw-fields").isHidden());
      const answer = await answerTo(page, "/credential", () => page.keyboard.press("Enter"));
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      const customer = await assertCompleted(page, id, answer, "device");
      assert.match(await visibleText(page, "[data-testid=completed-code]"), /Guichet app on your phone/);
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the last page");
      await screenshot(page, "42-completed-device");

      // A reload shows the same page, reference included.
      await page.reload();
      await page.locator("[data-testid=view-completed]").waitFor({ state: "visible" });
      assert.equal((await page.locator("[data-testid=customer-id]").textContent()).trim(), customer);
      assert.match(await visibleText(page, "[data-testid=customer-reference]"), /^\d{3} \d{3} \d{3} \d$/);
      await page.click("[data-testid=lang-fr]");
      assert.match(await visibleText(page, "#completed-heading"), /Votre compte est ouvert/);
      await page.click("[data-testid=lang-en]");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });

  test("another authenticator app: its QR code decodes to the otpauth URI, a wrong code then the right one", T, async () => {
    const { context, page, problems } = await start({ viewport: PHONE });
    const phone = new Phone();
    try {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: S.base });
      const id = await toCredentialStep(page, phone, "43-qr");
      await page.check("#kind-otpauth");
      const issued = await answerTo(page, "/credential", () => page.click("#credential-submit"));
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const uri = issued.body.otpauth_uri;
      assert.match(uri, /^otpauth:\/\/totp\/Guichet:[^?]+\?secret=[A-Z2-7]+&issuer=Guichet&algorithm=SHA1&digits=6&period=30$/);

      // The panel with the code to scan, focused; the SVG is an image.
      await page.locator("#otpauth-panel").waitFor({ state: "visible" });
      assert.equal(await activeId(page), "otpauth-heading");
      await page.waitForFunction(() => {
        const img = document.getElementById("otpauth-qr-img");
        return img.complete && img.naturalWidth > 0;
      }, null, { timeout: 10000 });
      assert.match(await page.getAttribute("#otpauth-qr-img", "src"), /^data:image\/svg\+xml/);
      assert.equal(await page.locator("#otpauth-panel svg").count(), 0, "no SVG markup in the page");
      assert.equal(await page.getAttribute("#otpauth-qr-img", "alt"), "QR code to scan with your authenticator app");

      // The app's camera reads the screen.
      const png = await shootQr(page, "44-otpauth-qr", "#otpauth-qr-img");
      const decoded = await decodeQr(png);
      assert.equal(decoded, uri, "the QR code on screen is the URI the server answered");
      assert.equal(await page.getAttribute("#otpauth-link", "href"), uri);

      // The key for typing by hand: the secret, by groups of 4, and copied
      // whole.
      const u = new URL(decoded);
      const secret = u.searchParams.get("secret");
      const shown = await visibleText(page, "[data-testid=otpauth-secret]");
      assert.equal(shown, secret.match(/.{1,4}/g).join(" "));
      await page.click("#otpauth-copy");
      assert.match(await visibleText(page, "#otpauth-copy-status"), /copied|could not be copied/);
      if (/copied\./.test(await page.innerText("#otpauth-copy-status")))
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
      assert.ok(await fits(page), "no sideways scrolling at 360 px with the key shown");
      await screenshot(page, "45-otpauth");

      // A language switch keeps the same code on screen.
      const src = await page.getAttribute("#otpauth-qr-img", "src");
      await page.click("[data-testid=lang-fr]");
      assert.match(await visibleText(page, "#otpauth-heading"), /Ajoutez Guichet/);
      assert.equal(await page.getAttribute("#otpauth-qr-img", "alt"),
                   "QR code à scanner avec votre application d'authentification");
      assert.equal(await page.getAttribute("#otpauth-qr-img", "src"), src);
      await page.click("[data-testid=lang-en]");

      // The app's code, from the decoded URI (otplib, as an app would).
      const params = {
        secret,
        algorithm: (u.searchParams.get("algorithm") || "SHA1").toLowerCase(),
        digits: Number(u.searchParams.get("digits")),
        period: Number(u.searchParams.get("period")),
      };
      assert.deepEqual([params.algorithm, params.digits, params.period], ["sha1", 6, 30]);
      const code = () => otplibGenerate(params);

      // A wrong code first: the attempts left, next to the field.
      await page.fill("#otpauth-code", other(await code()));
      const wrong = await answerTo(page, "/otp-confirm", () => page.click("#otpauth-submit"));
      assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
      const left = wrong.body.attempts_remaining;
      assert.ok(Number.isInteger(left) && left > 1, JSON.stringify(wrong.body));
      assert.match(await visibleText(page, "#otpauth-code-error"),
                   new RegExp(`not right.*${left} attempts left`));
      assert.equal(await page.getAttribute("#otpauth-code", "aria-invalid"), "true");
      assert.equal(await activeId(page), "otpauth-code");
      assert.equal(await page.inputValue("#otpauth-code"), "");
      await screenshot(page, "46-otpauth-wrong-code");

      // The right one.
      await page.fill("#otpauth-code", await code());
      const confirmed = await answerTo(page, "/otp-confirm", () => page.press("#otpauth-code", "Enter"));
      assert.equal(confirmed.status, 201, JSON.stringify(confirmed.body));
      const customer = await assertCompleted(page, id, confirmed, "otpauth");
      assert.equal(decodeURIComponent(u.pathname), `/Guichet:${customer}`, "the app's account is the customer");
      assert.match(await visibleText(page, "[data-testid=completed-code]"), /authenticator app/);
      await screenshot(page, "47-completed-otpauth");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });

  const cliProblem = adminCliProblem();
  test("a hardware token: serial and first code typed, the account is open", {
    ...T,
    skip: cliProblem ? cliProblem.replace("admin create", "tokens import") : false,
  }, async () => {
    // RFC 4226, appendix D: the HOTP of lib/totp.mjs on the RFC's own key.
    const rfcKey = Buffer.from("12345678901234567890", "ascii");
    assert.deepEqual([0, 1, 9].map((c) => hotp(rfcKey, c)), ["755224", "287082", "520489"]);

    // A token with a known secret in the inventory, by the server's CLI.
    const serial = "E2E" + randomBytes(5).toString("hex").toUpperCase();
    const seed = randomBytes(20);
    const dir = mkdtempSync(join(tmpdir(), "guichet-e2e-pskc-"));
    try {
      const file = join(dir, `${serial}.xml`);
      writeFileSync(file, pskc(serial, seed));
      const out = await guichetd("tokens", "import", file);
      assert.equal(out.imported, 1, JSON.stringify(out));
      assert.deepEqual(out.rejected, [], JSON.stringify(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const { context, page, problems } = await start({ viewport: PHONE });
    const phone = new Phone();
    try {
      const id = await toCredentialStep(page, phone, "48-qr");
      await page.getByRole("radio", { name: "A hardware token from your bank" }).check();
      await page.locator("#hw-fields").waitFor({ state: "visible" });

      // Nothing typed: both fields say what is missing; focus on the first.
      await page.click("#credential-submit");
      assert.match(await visibleText(page, "#hw-serial-error"), /serial number printed on the back/);
      assert.match(await visibleText(page, "#hw-code-error"), /type the code it shows/);
      assert.equal(await page.getAttribute("#hw-serial", "aria-invalid"), "true");
      assert.equal(await activeId(page), "hw-serial");

      // A serial the bank does not know: answered as a wrong code (the
      // server does not say which serials exist), one message about both
      // fields, the code emptied, one attempt spent.
      await page.fill("#hw-serial", serial + "X");
      await page.fill("#hw-code", hotp(seed, 0));
      const unknown = await answerTo(page, "/credential", () => page.click("#credential-submit"));
      assert.equal(unknown.status, 422, JSON.stringify(unknown.body));
      assert.equal(unknown.body.error.code, "otp_invalid");
      assert.equal(unknown.body.attempts_remaining, 4);
      assert.match(await visibleText(page, "#hw-code-error"), /serial number and code do not activate a token.*4 attempts left/);
      assert.ok(await page.locator("#hw-serial-error").isHidden());
      assert.equal(await page.inputValue("#hw-code"), "");
      assert.equal(await activeId(page), "hw-code");
      assert.ok(await fits(page), "no sideways scrolling at 360 px on the token's fields");
      await screenshot(page, "49-hardware-unknown-serial");

      // The right serial, a wrong code (none of the token's next ones):
      // the same answer and the same message.
      const next = new Set(Array.from({ length: 50 }, (_, c) => hotp(seed, c)));
      let bad = hotp(seed, 0);
      while (next.has(bad))
        bad = other(bad);
      await page.fill("#hw-serial", serial);
      await page.fill("#hw-code", bad);
      const wrong = await answerTo(page, "/credential", () => page.click("#credential-submit"));
      assert.equal(wrong.status, 422, JSON.stringify(wrong.body));
      assert.deepEqual({ ...wrong.body, attempts_remaining: 0 }, { ...unknown.body, attempts_remaining: 0 });
      assert.match(await visibleText(page, "#hw-code-error"), /serial number and code do not activate a token.*3 attempts left/);
      assert.ok(await page.locator("#hw-serial-error").isHidden());
      assert.equal(await activeId(page), "hw-code");
      assert.equal(await page.inputValue("#hw-code"), "");

      // The token's first code (HOTP counter 0).
      await page.fill("#hw-code", hotp(seed, 0));
      const answer = await answerTo(page, "/credential", () => page.press("#hw-code", "Enter"));
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.credentials[0].serial, serial);
      await assertCompleted(page, id, answer, "hardware");
      assert.match(await visibleText(page, "[data-testid=completed-code]"),
                   new RegExp(`hardware token \\(serial number ${serial}\\)`));
      await screenshot(page, "50-completed-hardware");
      await assertNoProblems(problems);
    } finally {
      phone.close();
      await context.close();
    }
  });
});

// A plain RFC 6030 PSKC container with one HOTP token (6 digits, counter 0).
function pskc (serial, seed) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>TokenWorks</Manufacturer><SerialNo>${serial}</SerialNo></DeviceInfo>
    <Key Id="${serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>${seed.toString("base64")}</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>
`;
}

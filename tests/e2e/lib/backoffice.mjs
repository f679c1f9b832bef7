// SPDX-License-Identifier: AGPL-3.0-or-later
//
// backoffice.mjs -- what the back-office browser tests need around the
// pages: a staff account made with guichetd's own CLI, its TOTP codes, a
// login through the page, and the phone side of an enrolment (the QR code
// screenshotted from the applicant's page and scanned by the reference
// authenticator, guichet-authenticator, with chosen device signals).
//
// Making an admin needs the server's database and master key, which only
// the harness knows.  The tests take, in this order:
//   GUICHET_CLI               a command prefix that runs guichetd with the
//                             right environment (split on blanks), e.g.
//                             "env GUICHET_MASTER_KEY_FILE=/tmp/k build/server/guichetd";
//   or GUICHETD (default build/server/guichetd) run with
//      GUICHET_DATABASE_URL and GUICHET_MASTER_KEY_FILE from the environment.
// adminCliProblem() says what is missing, for a skip message.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { ARTIFACTS } from "./browser.mjs";
import { parseOtpauth, totp } from "./totp.mjs";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, "../../..");
const GUICHETD = process.env.GUICHETD || join(REPO, "build/server/guichetd");
export const AUTHENTICATOR = process.env.GUICHET_AUTHENTICATOR
  || join(REPO, "build/authenticator/guichet-authenticator");

// null when an admin can be made, else why not.
export function adminCliProblem () {
  if (process.env.GUICHET_CLI)
    return null;
  if (!existsSync(GUICHETD))
    return `${GUICHETD} is not built`;
  const missing = ["GUICHET_DATABASE_URL", "GUICHET_MASTER_KEY_FILE"]
    .filter((k) => !process.env[k]);
  return missing.length
    ? `needs ${missing.join(" and ")} (or GUICHET_CLI) to run \`guichetd admin create\``
    : null;
}

// Runs `guichetd ARGS` and answers its JSON.
export async function guichetd (...args) {
  let file;
  let argv;
  let env;
  if (process.env.GUICHET_CLI) {
    [file, ...argv] = process.env.GUICHET_CLI.trim().split(/\s+/);
    argv = [...argv, ...args];
    env = process.env;
  } else {
    file = GUICHETD;
    argv = args;
    // Only what the CLI needs: no stray GUICHET_* from the test runner.
    env = Object.fromEntries(Object.entries(process.env)
      .filter(([k]) => !k.startsWith("GUICHET_")));
    env.GUICHET_DATABASE_URL = process.env.GUICHET_DATABASE_URL;
    env.GUICHET_MASTER_KEY_FILE = process.env.GUICHET_MASTER_KEY_FILE;
    if (process.env.GUICHET_MIGRATIONS_DIR)
      env.GUICHET_MIGRATIONS_DIR = process.env.GUICHET_MIGRATIONS_DIR;
  }
  let out;
  try {
    out = await run(file, argv, { env, cwd: REPO, timeout: 60000 });
  } catch (e) {
    throw new Error(`guichetd ${args.join(" ")} failed (${e.code}): ${e.stdout}${e.stderr}`);
  }
  try {
    return JSON.parse(out.stdout);
  } catch (e) {
    throw new Error(`guichetd ${args.join(" ")} printed no JSON: ${out.stdout}`);
  }
}

// A new staff account: {username, password, otpauth_uri, role, otp}.
// otp is its TOTP parameters (lib/totp.mjs).
export async function createAdmin (role = "reviewer") {
  const username = `e2e${role.slice(0, 3)}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const r = await guichetd("admin", "create", "--username", username, "--role", role);
  assert.ok(r.password && r.otpauth_uri, `admin create answered ${JSON.stringify(r)}`);
  return { username: r.username || username, password: r.password, otpauth_uri: r.otpauth_uri,
           role, otp: parseOtpauth(r.otpauth_uri), lastStep: -1 };
}

// A code the server will take: from a time step this account has not used
// yet (the server refuses a replayed step), with at least 5 s left so it is
// still current when the form reaches the server.
export async function freshCode (admin) {
  const { period } = admin.otp;
  for (;;) {
    const now = Date.now() / 1000;
    const step = Math.floor(now / period);
    const left = period - (now % period);
    if (step > admin.lastStep && left >= 5) {
      admin.lastStep = step;
      return totp(admin.otp, now);
    }
    await sleep(Math.ceil(left * 1000) + 200);
  }
}

// Signs in through the login form; the page must be on #/login.
export async function signIn (page, admin) {
  await page.locator("[data-testid=view-login]").waitFor({ state: "visible" });
  await page.fill("#login-username", admin.username);
  await page.fill("#login-password", admin.password);
  await page.fill("#login-otp", await freshCode(admin));
  await page.click("#login-submit");
  await page.locator("[data-testid=view-login]").waitFor({ state: "hidden", timeout: 20000 })
    .catch(async () => {
      const err = await page.locator("#login-error").innerText().catch(() => "");
      const banner = await page.locator("#banner").innerText().catch(() => "");
      throw new Error(`login did not go through: ${err || banner || "(no message)"}`);
    });
}

// The phone side of the device step: screenshots the QR code the
// applicant's page shows, and lets the reference authenticator scan it
// (zbarimg) and activate with the given device signals.  Answers the
// authenticator's JSON answer.
export async function activateFromPage (page, name, deviceJson = {}) {
  const img = page.locator("[data-testid=qr-img]");
  await img.waitFor({ state: "visible", timeout: 20000 });
  await page.waitForFunction(() => {
    const i = document.querySelector("[data-testid=qr-img]");
    return i && i.complete && i.naturalWidth > 0;
  }, null, { timeout: 10000 });
  // The device step explains the app before the code: bring it on screen,
  // the clip is of the viewport.
  await img.scrollIntoViewIfNeeded();
  const box = await img.boundingBox();
  const pad = 16;   // a white margin around the code, as a camera would see
  const png = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: png, clip: { x: Math.max(0, box.x - pad), y: Math.max(0, box.y - pad),
                                             width: box.width + 2 * pad,
                                             height: box.height + 2 * pad } });
  const dir = mkdtempSync(join(tmpdir(), "guichet-e2e-phone-"));
  const args = ["--state", join(dir, "phone.state"), "--pin", "1234", "activate",
                "--qr", png, "--device-json", JSON.stringify(deviceJson)];
  let out;
  try {
    out = await run(AUTHENTICATOR, args, { timeout: 60000 });
  } catch (e) {
    throw new Error(`guichet-authenticator activate failed (${e.code}): ${e.stdout}${e.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });   // the phone's keys: not left in /tmp
  }
  return JSON.parse(out.stdout);
}

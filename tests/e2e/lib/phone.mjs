// SPDX-License-Identifier: AGPL-3.0-or-later
//
// phone.mjs -- the phone side of the browser tests: the reference
// authenticator CLI (build/authenticator/guichet-authenticator, see
// docs/authenticator.md), zbarimg to read a QR code from a screenshot, and
// psql on the server's database (GUICHET_DATABASE_URL) for what only a
// back-office or the clock would do.
//
// Everything runs with execFile: no shell, arguments passed as they are.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));

export const AUTHENTICATOR = process.env.GUICHET_AUTHENTICATOR
  || resolve(HERE, "../../../build/authenticator/guichet-authenticator");

// The payload of the QR code in a PNG, read as a phone's camera app would.
export async function decodeQr (png) {
  const { stdout } = await run("zbarimg", ["--raw", "-q", png], { timeout: 20000 });
  return stdout.trim();
}

// One phone with the Guichet app: its own state file, sealed under a PIN.
export class Phone {
  constructor ({ device } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "guichet-e2e-phone-"));
    this.state = join(this.dir, "authenticator.state");
    this.pin = "1234";
    this.device = device || null;
  }

  async cli (...args) {
    try {
      const { stdout } = await run(AUTHENTICATOR, ["--state", this.state, "--pin", this.pin, ...args],
                                   { timeout: 30000 });
      return JSON.parse(stdout);
    } catch (e) {
      throw new Error(`guichet-authenticator ${args[0]} failed (exit ${e.code}): `
                      + `${(e.stdout || "").trim()} ${(e.stderr || "").trim()}`);
    }
  }

  // Scans the QR code in png (zbarimg, inside the CLI) and activates:
  // the server's 201 answer.
  activateQr (png) {
    const extra = this.device ? ["--device-json", JSON.stringify(this.device)] : [];
    return this.cli("activate", "--qr", png, ...extra);
  }

  // The code the app shows now, {otp, valid_for}; waits for the next one
  // when this one is about to change, so it is still good when it arrives.
  async code () {
    let c = await this.cli("code");
    if (c.valid_for < 4) {
      await new Promise((r) => setTimeout(r, (c.valid_for + 1) * 1000));
      c = await this.cli("code");
    }
    return c;
  }

  close () {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// psql on the server's database: runs sql (psql variables :'name' from
// vars) and answers the unaligned, tuples-only output.
export async function psql (sql, vars = {}) {
  const url = process.env.GUICHET_DATABASE_URL;
  if (!url)
    throw new Error("GUICHET_DATABASE_URL is not set");
  const args = [url, "-XAtq", "-v", "ON_ERROR_STOP=1"];
  for (const [k, v] of Object.entries(vars))
    args.push("-v", `${k}=${v}`);
  // -c does not expand variables; a file of commands does.
  const dir = mkdtempSync(join(tmpdir(), "guichet-e2e-sql-"));
  try {
    const file = join(dir, "q.sql");
    writeFileSync(file, sql);
    const { stdout } = await run("psql", [...args, "-f", file], { timeout: 20000 });
    return stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

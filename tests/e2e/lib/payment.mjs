// SPDX-License-Identifier: AGPL-3.0-or-later
//
// payment.mjs -- what the approval-page tests need around the page: a
// customer whose credential is the reference authenticator (enrolled over
// the HTTP API, the phone activating from the QR payload), a relying party
// (an API key made with guichetd's CLI, whose origin is a small shop
// server of our own that records where payers land), transactions made
// with that key, and a second guichetd with a short tx_ttl_s for expiry.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { guichetd, REPO } from "./backoffice.mjs";
import { applicant } from "./mrz.mjs";
import { Phone } from "./phone.mjs";

export const PIN = "480793";

// JSON over fetch, with a cookie jar of one cookie (the applicant session).
async function call (base, jar, method, path, { body, headers = {} } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (jar && jar.cookie)
    h.Cookie = jar.cookie;
  if (body !== undefined)
    h["Content-Type"] = "application/json";
  const r = await fetch(base + path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const set = r.headers.get("set-cookie");
  if (jar && set)
    jar.cookie = set.split(";")[0];
  const data = await r.json().catch(() => null);
  return { status: r.status, data };
}

// A new customer whose credential is a reference-authenticator phone.
// @return {customerId, phone}
export async function customerWithPhone (base) {
  const a = applicant();
  const jar = {};
  let r = await call(base, jar, "POST", "/v1/enrolments", { body: {
    applicant: { given_names: a.givenNames, surname: a.surname, birth_date: a.birthDate,
                 nationality: a.nationality, residence_country: a.residence,
                 email: a.email, phone: a.phone },
    document: { mrz: a.mrz },
  } });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  assert.equal(r.data.state, "device", JSON.stringify(r.data));
  const id = r.data.id;
  r = await call(base, jar, "POST", `/v1/enrolments/${id}/device-challenge`, { body: {} });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const phone = new Phone();
  const act = await phone.cli("activate", r.data.qr_payload);
  assert.equal(act.status, "active", JSON.stringify(act));
  r = await call(base, jar, "POST", `/v1/enrolments/${id}/pin`, { body: { pin: PIN } });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  const code = await phone.code();
  r = await call(base, jar, "POST", `/v1/enrolments/${id}/otp-confirm`, { body: { otp: code.otp } });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  r = await call(base, jar, "POST", `/v1/enrolments/${id}/credential`, { body: { kind: "device" } });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return { customerId: r.data.customer_id, phone };
}

// A shop on a free loopback port: every request is recorded, /done
// answers a small page.
export async function startShop () {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(req.url);
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!DOCTYPE html><title>Shop</title><p id=shop>Back at the shop</p>");
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, hits, close: () => new Promise((ok) => server.close(ok)) };
}

// A relying party's API key whose origin is @a origin.
export async function relyingParty (origin) {
  const name = "shop-" + randomBytes(4).toString("hex");
  const out = await guichetd("apikey", "create", "--name", name, "--origin", origin);
  return { name, key: out.key };
}

export async function createTransaction (base, rp, customerId, over = {}) {
  const r = await call(base, null, "POST", "/v1/transactions", {
    headers: { Authorization: `Bearer ${rp.key}` },
    body: { customer_id: customerId, amount: "125.00", currency: "EUR",
            payee_name: "ACME SARL", payee_iban: "FR7630006000011234567890189", ...over },
  });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data;
}

export async function readTransaction (base, rp, id) {
  const r = await call(base, null, "GET", `/v1/transactions/${id}`,
                       { headers: { Authorization: `Bearer ${rp.key}` } });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data;
}

// A second guichetd on the same database, with its own environment
// additions (e.g. GUICHET_TX_TTL_S); stop() ends it by its PID.
export async function startGuichetd (extraEnv) {
  const port = await new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
  });
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith("GUICHET_")));
  Object.assign(env, {
    GUICHET_DATABASE_URL: process.env.GUICHET_DATABASE_URL,
    GUICHET_MASTER_KEY_FILE: process.env.GUICHET_MASTER_KEY_FILE,
    GUICHET_LISTEN: `127.0.0.1:${port}`,
    GUICHET_LOG_LEVEL: "warn",
  }, extraEnv);
  const child = spawn(process.env.GUICHETD || join(REPO, "build/server/guichetd"), ["serve"],
                      { env, stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(base + "/readyz")).status === 200)
        return { base, stop: () => child.kill("SIGTERM") };
    } catch (e) { /* not up yet */ }
    await sleep(100);
  }
  child.kill("SIGTERM");
  throw new Error("the second guichetd did not become ready");
}

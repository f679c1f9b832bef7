// SPDX-License-Identifier: AGPL-3.0-or-later
//
// payload.test.mjs -- web/app/payload.js under node's test runner: the
// QR payloads the Guichet app reads, parsed as strictly as the reference
// phone (tests/unit/test_authenticator.c has the same cases), and how a
// payment is shown (IBAN in fours, amount with its signed digits, the
// assurance code's form).

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { assuranceCode, checkTx, formatAmount, groupIban, kindOf, parseActivation,
         parseTx } from "../../web/app/payload.js";

const ACT = "guichet://activate?v=1&u=http%3A%2F%2F127.0.0.1%3A8080&c=ch_test_0001&s=AAECAwQFBgcICQoLDA0ODw";
const TX = "guichet://tx?v=1&id=tx_test_0001&a=125.00&c=EUR&n=ACME%20SARL&i=FR7630006000011234567890189&x=n0nce";

const code = (f) => { try { f(); } catch (e) { return e.code; } return "ok"; };

describe("guichet://activate", () => {
  test("the vector's payload", () => {
    const p = parseActivation(ACT);
    assert.equal(p.baseUrl, "http://127.0.0.1:8080");
    assert.equal(p.origin, "http://127.0.0.1:8080");
    assert.equal(p.challengeId, "ch_test_0001");
    assert.deepEqual(Array.from(p.secret), [...Array(16).keys()]);
    assert.equal(kindOf(ACT), "activate");
  });

  test("a trailing slash of the base URL goes; unknown parameters are ignored", () => {
    const p = parseActivation(ACT.replace("8080&", "8080%2F&") + "&z=1");
    assert.equal(p.baseUrl, "http://127.0.0.1:8080");
  });

  test("refused", () => {
    const cases = {
      "guichet://activate?v=2&u=http%3A%2F%2Fa&c=c&s=AAECAwQFBgcICQoLDA0ODw": "payload_version",
      [ACT.replace("guichet://", "guichet:/")]: "payload_invalid",
      [ACT + "&c=other"]: "payload_invalid",                     // twice
      [ACT.replace("&c=ch_test_0001", "")]: "payload_invalid",   // missing
      [ACT.replace("c=ch_test_0001", "c=")]: "payload_invalid",  // empty
      [ACT.replace("c=ch_test_0001", "c=ch%0A1")]: "payload_invalid",
      [ACT.replace("http%3A", "ftp%3A")]: "payload_invalid",
      [ACT.replace("8080&", "8080%3Fq%3D1&")]: "payload_invalid",
      [ACT + "#frag"]: "payload_invalid",
      [ACT.replace("Dw", "Dx")]: "payload_invalid",              // trailing bits
      [ACT.replace("ODw", "OD")]: "payload_invalid",             // 15 bytes
      [ACT.replace("ODw", "ODw%3D%3D")]: "payload_invalid",      // padding
      [ACT.replace("c=ch", "c=%E0%A4")]: "payload_invalid",      // bad UTF-8
      "https://example.org/": "payload_invalid",
    };
    for (const [text, want] of Object.entries(cases))
      assert.equal(code(() => parseActivation(text)), want, text);
  });
});

describe("guichet://tx", () => {
  test("the vector's payment", () => {
    assert.deepEqual(parseTx(TX), {
      id: "tx_test_0001", amount: "125.00", currency: "EUR", payee_name: "ACME SARL",
      payee_iban: "FR7630006000011234567890189", nonce: "n0nce" });
    assert.equal(kindOf(TX), "tx");
    assert.equal(parseTx(TX.replace("ACME%20SARL", "ACME+SARL")).payee_name, "ACME SARL");
    assert.equal(parseTx(TX.replace("ACME%20SARL", "A%2BB")).payee_name, "A+B");
    assert.equal(parseTx(TX.replace("ACME%20SARL", "Caf%C3%A9")).payee_name, "Café");
  });

  test("a field that would change what is signed or shown is refused", () => {
    for (const bad of ["ACME%0ASARL", "ACME%09SARL", "%E2%80%AEACME", "AC%E2%80%8BME",
                       "%EF%BB%BFACME", "AC%C2%ADME", "AC%C2%85ME", "ACME%F3%A0%80%81"])
      assert.equal(code(() => parseTx(TX.replace("ACME%20SARL", bad))), "payload_invalid", bad);
    assert.equal(code(() => parseTx(TX.replace("a=125.00", "a=1e3"))), "payload_invalid");
    assert.equal(code(() => parseTx(TX.replace("a=125.00", "a=-1"))), "payload_invalid");
    assert.equal(code(() => parseTx(TX.replace("c=EUR", "c=eur"))), "payload_invalid");
    assert.equal(code(() => parseTx(TX.replace("&x=n0nce", ""))), "payload_invalid");
    assert.equal(code(() => parseTx(TX + "&n=OTHER")), "payload_invalid");
    assert.equal(code(() => parseTx(TX.replace("v=1", "v=2"))), "payload_version");
  });

  test("the pending list's items pass the same checks", () => {
    const item = { id: "tx_1", amount: "1.250", currency: "BHD", payee_name: "X",
                   payee_iban: "BH67BMAG00001299123456", nonce: "n", expires_at: "…" };
    assert.equal(checkTx(item).amount, "1.250");
    assert.equal(code(() => checkTx({ ...item, payee_name: "X\u202eY" })), "payload_invalid");
    assert.equal(code(() => checkTx({ ...item, nonce: undefined })), "payload_invalid");
    assert.equal(code(() => checkTx({ ...item, amount: 125 })), "payload_invalid");
  });
});

describe("showing a payment", () => {
  test("IBAN in groups of four", () => {
    assert.equal(groupIban("FR7630006000011234567890189"), "FR76 3000 6000 0112 3456 7890 189");
    assert.equal(groupIban("DE89370400440532013000"), "DE89 3704 0044 0532 0130 00");
  });

  test("the amount with exactly the signed digits, in the customer's language", () => {
    assert.match(formatAmount("125.00", "EUR", "en"), /^EUR\s125\.00$/);
    assert.match(formatAmount("1234.50", "EUR", "fr"), /^1\s?234,50\sEUR$/);
    assert.match(formatAmount("125", "JPY", "en"), /^JPY\s125$/);
    assert.match(formatAmount("1.250", "BHD", "en"), /^BHD\s1\.250$/);
    assert.match(formatAmount("999999999999999.99", "EUR", "en"), /999,999,999,999,999\.99/,
                 "no float rounding");
  });

  test("the assurance code's form", () => {
    assert.equal(assuranceCode("K7F2Q9"), "K7F2Q9");
    for (const bad of [undefined, null, "", "K7F2Q", "K7F2Q90", "K7F2QO", "k7f2q9", "K7F2Q1", 123456])
      assert.equal(assuranceCode(bad), null, String(bad));
  });
});

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// mrz.test.mjs -- the test MRZ generator against ICAO Doc 9303's TD3
// specimen, so a failing browser test is never a bad test document.

import assert from "node:assert/strict";
import { test } from "node:test";

import { applicant, checkDigit, td3 } from "./lib/mrz.mjs";

test("check digits of the ICAO TD3 specimen", () => {
  assert.equal(checkDigit("L898902C3"), "6");
  assert.equal(checkDigit("740812"), "2");
  assert.equal(checkDigit("120415"), "9");
  assert.equal(checkDigit("ZE184226B<<<<<"), "1");
  assert.equal(checkDigit("L898902C36" + "7408122" + "1204159" + "ZE184226B<<<<<1"), "0");
});

test("td3() rebuilds the ICAO specimen", () => {
  const mrz = td3({
    surname: "ERIKSSON", givenNames: "ANNA MARIA", nationality: "UTO",
    birthDate: "1974-08-12", sex: "F", expiryDate: "2012-04-15",
    documentNumber: "L898902C3", personalNumber: "ZE184226B",
  });
  assert.equal(mrz,
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n" +
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
});

test("random applicants differ and have 2x44 MRZs", () => {
  const a = applicant();
  const b = applicant();
  assert.notEqual(a.surname, b.surname);
  assert.notEqual(a.documentNumber, b.documentNumber);
  for (const line of a.mrz.split("\n"))
    assert.match(line, /^[A-Z0-9<]{44}$/);
});

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// mrz.mjs -- makes valid passport machine-readable zones (ICAO Doc 9303
// part 4, TD3: 2 lines of 44) for the browser tests, and random applicants
// whose names and document numbers never repeat, so the server's
// duplicate-identity check does not trip on a second run.
//
// Written from the ICAO text, independently of the server's enrol/mrz.c;
// mrz.test.mjs checks it on the ICAO specimen.

import { randomInt } from "node:crypto";

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// ICAO check digit: weights 7, 3, 1 repeating; '<' is 0, digits are
// themselves, A..Z are 10..35; the sum modulo 10.
export function checkDigit (s) {
  const weights = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    let v;
    if (c === "<")
      v = 0;
    else if (c >= "0" && c <= "9")
      v = c.charCodeAt(0) - 48;
    else if (c >= "A" && c <= "Z")
      v = c.charCodeAt(0) - 55;
    else
      throw new Error(`not an MRZ character: ${JSON.stringify(c)}`);
    sum += v * weights[i % 3];
  }
  return String(sum % 10);
}

// "1985-04-12" -> "850412"
function yymmdd (iso) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso))
    throw new Error(`not a YYYY-MM-DD date: ${iso}`);
  return iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

// Names as the MRZ writes them: capitals, spaces and hyphens as '<'.
function mrzName (s) {
  return s.toUpperCase().replace(/[ -]/g, "<");
}

// A TD3 (passport) MRZ; answers the two lines joined by "\n".
export function td3 ({ surname, givenNames, nationality, issuer = nationality,
                       birthDate, sex = "F", expiryDate, documentNumber,
                       personalNumber = "" }) {
  const line1 = ("P<" + issuer + mrzName(surname) + "<<" + mrzName(givenNames))
    .padEnd(44, "<").slice(0, 44);
  const doc = documentNumber.padEnd(9, "<");
  const birth = yymmdd(birthDate);
  const expiry = yymmdd(expiryDate);
  const personal = personalNumber.padEnd(14, "<");
  const docPart = doc + checkDigit(doc);
  const birthPart = birth + checkDigit(birth);
  const expiryPart = expiry + checkDigit(expiry);
  const personalPart = personal + checkDigit(personal);
  const composite = checkDigit(docPart + birthPart + expiryPart + personalPart);
  const line2 = docPart + nationality + birthPart + sex + expiryPart + personalPart + composite;
  if (line1.length !== 44 || line2.length !== 44)
    throw new Error("TD3 lines must be 44 characters");
  return line1 + "\n" + line2;
}

export function randomLetters (n) {
  let s = "";
  for (let i = 0; i < n; i++)
    s += LETTERS[randomInt(26)];
  return s;
}

function randomDigits (n) {
  let s = "";
  for (let i = 0; i < n; i++)
    s += String(randomInt(10));
  return s;
}

// today + years (negative: in the past), as YYYY-MM-DD, on the 15th so no
// month is too short.
export function dateFromToday (years, months = 0) {
  const d = new Date();
  const t = new Date(Date.UTC(d.getUTCFullYear() + years, d.getUTCMonth() + months, 15));
  return t.toISOString().slice(0, 10);
}

// A random adult applicant with a valid French passport.  Options override
// any field; expiryDate in the past makes an expired document.
export function applicant (opts = {}) {
  const tag = randomLetters(8);
  const a = {
    givenNames: "Anna Maria",
    surname: "Tester" + tag.toLowerCase(),
    birthDate: `${1960 + randomInt(40)}-0${1 + randomInt(9)}-1${randomInt(10)}`,
    nationality: "FRA",
    residence: "FRA",
    email: `tester.${tag.toLowerCase()}@example.org`,
    phone: "+336" + randomDigits(8),
    sex: "F",
    documentNumber: randomLetters(2) + randomDigits(7),
    expiryDate: dateFromToday(5),
    ...opts,
  };
  a.mrz = td3({
    surname: a.surname, givenNames: a.givenNames, nationality: a.nationality,
    birthDate: a.birthDate, sex: a.sex, expiryDate: a.expiryDate,
    documentNumber: a.documentNumber,
  });
  return a;
}

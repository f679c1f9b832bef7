// SPDX-License-Identifier: AGPL-3.0-or-later
//
// form.js -- the applicant form: its fields by API path, reading them into
// the POST /v1/enrolments body, and showing an error next to a field.
//
// The server judges every value; the page only says beforehand what is
// missing, what is plainly not a machine-readable zone, and which check
// digit of the zone does not match (the server would otherwise reject the
// whole enrolment and the applicant would have to start over).  The MRZ is
// tidied as the server would (mrz.js: upper case, a zone pasted on one
// line cut into its lines) and shown tidied in its box.

import { COUNTRIES, ICAO_NATIONALITIES } from "./countries.js";
import { checkDigitProblem, tidyMrz } from "./mrz.js";
import { clearText, getLang, setText, t } from "./text.js";

const $ = (id) => document.getElementById(id);

// Form fields by the dotted path the API names in a 400's "field".  Each
// input has id, a <label for=id>, and an error paragraph id-error that its
// aria-describedby points to.
export const FIELDS = [
  { path: "applicant.given_names", id: "given-names" },
  { path: "applicant.surname", id: "surname" },
  { path: "applicant.birth_date", id: "birth-date" },
  { path: "applicant.nationality", id: "nationality", choose: true },
  { path: "applicant.residence_country", id: "residence-country", choose: true },
  { path: "applicant.email", id: "email" },
  { path: "applicant.phone", id: "phone" },
  { path: "document.mrz", id: "mrz" },
];
export const FIELD_BY_PATH = new Map(FIELDS.map((f) => [f.path, f]));

// A date of birth as people write it where this page is read: day, month,
// year ("21/04/1985", "21.04.1985", "21 4 1985", "21041985"), or the ISO
// form ("1985-04-21").  @return "YYYY-MM-DD", or null if it is no date.
export function parseDate (raw) {
  const s = raw.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  let y, mo, d;
  if (m)
    [y, mo, d] = [m[1], m[2], m[3]];
  else if ((m = /^(\d{1,2})[\/.\- ]+(\d{1,2})[\/.\- ]+(\d{4})$/.exec(s)) || (m = /^(\d{2})(\d{2})(\d{4})$/.exec(s)))
    [d, mo, y] = [m[1], m[2], m[3]];
  else
    return null;
  const t = new Date(Date.UTC(+y, +mo - 1, +d));
  if (t.getUTCFullYear() !== +y || t.getUTCMonth() !== +mo - 1 || t.getUTCDate() !== +d)
    return null;
  return `${y}-${mo.padStart(2, "0")}-${d.padStart(2, "0")}`;
}

// "1985-04-21" -> "21/04/1985", the way the date field reads.
export function formatDate (iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return m ? `${m[3]}/${m[2]}/${m[1]}` : String(iso || "");
}

export function cleanMrz (raw) {
  const lines = raw.split("\n").map((l) => l.replace(/\s+$/, ""));
  while (lines.length && lines[0] === "")
    lines.shift();
  while (lines.length && lines[lines.length - 1] === "")
    lines.pop();
  return lines.join("\n");
}

// What makes mrz clearly not a zone (ICAO Doc 9303: alphabet A-Z 0-9 <,
// 2x44, 2x36 or 3x30): [key, params] for the message, or null.  Check
// digits are the server's business.
export function mrzProblem (mrz) {
  const lines = mrz.split("\n");
  if (lines.length < 2 || lines.length > 3)
    return ["err.mrz_lines"];
  for (let i = 0; i < lines.length; i++) {
    const bad = /[^A-Z0-9<]/.exec(lines[i]);
    if (bad)
      return /\s/.test(bad[0]) ? ["err.mrz_space", { n: i + 1 }]
                               : ["err.mrz_char", { n: i + 1, c: bad[0] }];
  }
  const lens = lines.map((l) => l.length);
  let want = 30;
  if (lines.length === 2)
    want = [44, 36].includes(lens[0]) ? lens[0] : [44, 36].includes(lens[1]) ? lens[1] : 44;
  const i = lens.findIndex((n) => n !== want);
  return i < 0 ? null : ["err.mrz_length", { n: i + 1, len: lens[i] }];
}

// "line 1: 44 characters · line 2: 44 characters" under the MRZ box, to
// help compare with the document.
export function updateMrzCount () {
  const box = $("mrz-count");
  const text = cleanMrz($("mrz").value);
  if (!text) {
    box.textContent = "";
    return;
  }
  box.textContent = text.split("\n")
    .map((l, i) => t("form.mrz_count_line", { n: i + 1, len: l.length }))
    .join(t("form.mrz_count_sep"));
}

export function setFieldError (field, key, params) {
  const input = $(field.id);
  setText($(field.id + "-error"), key, params);
  input.setAttribute("aria-invalid", "true");
  input.closest(".field").classList.add("field--error");
}

export function clearFieldErrors () {
  for (const b of document.querySelectorAll(".use-document"))
    b.remove();
  for (const f of FIELDS) {
    clearText($(f.id + "-error"));
    $(f.id).removeAttribute("aria-invalid");
    $(f.id).closest(".field").classList.remove("field--error");
  }
}

// Shows errors ([field, key, params] each) and focuses the first field.
export function showFieldErrors (errors) {
  for (const [f, key, params] of errors)
    setFieldError(f, key, params);
  if (errors.length)
    $(errors[0][0].id).focus();
}

// Reads the form into the API body: {body, errors}.
export function readForm () {
  const v = (id) => $(id).value.trim();
  const body = {
    applicant: {
      given_names: v("given-names"),
      surname: v("surname"),
      birth_date: parseDate($("birth-date").value) || $("birth-date").value.trim(),
      nationality: $("nationality").value,
      residence_country: $("residence-country").value,
      email: v("email"),
      // As typed: the server reads national numbers for the country of
      // residence ("06 12 34 56 78" in France).
      phone: v("phone"),
    },
    document: { mrz: tidyMrz(cleanMrz($("mrz").value)) },
  };
  // Show the zone as it is sent: in capitals, one line per line.
  if (body.document.mrz && body.document.mrz !== cleanMrz($("mrz").value)) {
    $("mrz").value = body.document.mrz;
    updateMrzCount();
  }
  const errors = [];
  for (const f of FIELDS) {
    const [group, name] = f.path.split(".");
    if (!body[group][name])
      errors.push([f, f.choose ? "err.choose" : "err.required"]);
    else if (f.id === "birth-date" && !parseDate(body.applicant.birth_date))
      errors.push([f, "err.field.applicant.birth_date"]);
  }
  if (body.document.mrz) {
    const p = mrzProblem(body.document.mrz);
    const cd = p ? null : checkDigitProblem(body.document.mrz);
    if (p)
      errors.push([FIELD_BY_PATH.get("document.mrz"), p[0], p[1]]);
    else if (cd)
      errors.push([FIELD_BY_PATH.get("document.mrz"),
                   "err.mrz_cd." + cd.field,
                   { line: cd.line, from: cd.from, last: cd.to - 1, at: cd.to }]);
  }
  return { body, errors };
}

// Fills the two country selects for the current language (names sorted for
// its reader, value the alpha-3 code), keeping what was chosen.
export function fillCountries () {
  const lang = getLang();
  const col = new Intl.Collator(lang, { sensitivity: "base" });
  const name = (row) => (lang === "fr" ? row[2] : row[1]);
  const sorted = [...COUNTRIES].sort((a, b) => col.compare(name(a), name(b)));
  const option = (row) => {
    const o = document.createElement("option");
    o.value = row[0];
    o.textContent = `${name(row)} (${row[0]})`;
    return o;
  };
  for (const [id, extras] of [["nationality", ICAO_NATIONALITIES], ["residence-country", null]]) {
    const sel = $(id);
    const keep = sel.value;
    while (sel.options.length > 1)
      sel.remove(1);
    for (const g of sel.querySelectorAll("optgroup"))
      g.remove();
    const frag = document.createDocumentFragment();
    for (const row of sorted)
      frag.append(option(row));
    if (extras) {
      const group = document.createElement("optgroup");
      group.label = t("form.other_codes");
      for (const row of extras)
        group.append(option(row));
      frag.append(group);
    }
    sel.append(frag);
    sel.value = keep;
  }
}

// What the document says, next to each field that differs from it (a 422
// from POST /v1/enrolments with on_mismatch "ask"), with a button that
// puts the document's value in the field.  @return the errors shown.
export function showMismatch (answer) {
  const doc = answer.document || {};
  const value = {
    "applicant.surname": doc.surname,
    "applicant.given_names": doc.given_names,
    "applicant.birth_date": formatDate(doc.birth_date),
    "applicant.nationality": doc.nationality,
  };
  const errors = [];
  for (const path of Array.isArray(answer.fields) ? answer.fields : []) {
    const f = FIELD_BY_PATH.get(path);
    if (!f || !value[path])
      continue;
    let shown = value[path];
    if (f.id === "nationality") {
      const row = COUNTRIES.find((r) => r[0] === shown) || ICAO_NATIONALITIES.find((r) => r[0] === shown);
      if (row)
        shown = `${getLang() === "fr" ? row[2] : row[1]} (${row[0]})`;
    }
    errors.push([f, "mismatch.field", { value: shown }]);
    const use = document.createElement("button");
    use.type = "button";
    use.className = "btn btn--secondary use-document";
    use.id = "use-document-" + f.id;
    use.setAttribute("data-testid", "use-document-" + f.id);
    setText(use, "mismatch.use", { value: shown });
    use.addEventListener("click", () => {
      $(f.id).value = value[path];
      clearText($(f.id + "-error"));
      $(f.id).removeAttribute("aria-invalid");
      $(f.id).closest(".field").classList.remove("field--error");
      use.remove();
      $(f.id).focus();
    });
    $(f.id + "-error").after(use);
  }
  showFieldErrors(errors);
  return errors;
}

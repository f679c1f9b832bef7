// SPDX-License-Identifier: AGPL-3.0-or-later
//
// mrz.js -- the machine-readable zone in the page: tidy what was pasted,
// and check its check digits before sending, so that a mistyped character
// is found while the document is still in the applicant's hand.
//
// ICAO Doc 9303 (parts 4 to 6): check digits with weights 7, 3, 1; '<' is
// 0, A..Z are 10..35.  The server checks everything again (enrol/mrz.c)
// and names the same fields; the page only says it earlier, and which
// characters to read again.  A layout this file does not know (a document
// number that overflows into the optional data) is left to the server.

export function checkDigit (s) {
  const w = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const v = c === "<" ? 0 : c >= "0" && c <= "9" ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 55;
    sum += v * w[i % 3];
  }
  return String(sum % 10);
}

// The zone as pasted: upper case; one line of 88, 72 or 90 characters
// (blanks ignored) cut into the lines of its layout.  As enrol_mrz_tidy().
export function tidyMrz (raw) {
  let s = raw.toUpperCase().replace(/\r/g, "").replace(/^[\s]+|[\s]+$/g, "");
  if (s.includes("\n"))
    return s.split("\n").map((l) => l.replace(/\s+$/, "")).join("\n");
  const flat = s.replace(/[ \t]/g, "");
  const per = { 88: 44, 72: 36, 90: 30 }[flat.length];
  if (!per)
    return flat;
  const lines = [];
  for (let i = 0; i < flat.length; i += per)
    lines.push(flat.slice(i, i + per));
  return lines.join("\n");
}

// One checked part: line (0-based), [from, to) of the data, at = its digit;
// more: other spans of the composite.
function part (field, line, from, to, at) {
  return { field, spans: [[line, from, to]], digit: [line, at] };
}

// The parts of each layout, in the order the server checks them.
function partsOf (lines) {
  const [l1, l2] = lines;
  if (lines.length === 3 && l1.length === 30) {
    return [
      l1[14] === "<" ? null : part("document_number", 0, 5, 14, 14),
      part("birth_date", 1, 0, 6, 6),
      part("expiry_date", 1, 8, 14, 14),
      { field: "composite", spans: [[0, 5, 30], [1, 0, 7], [1, 8, 15], [1, 18, 29]], digit: [1, 29] },
    ];
  }
  if (lines.length !== 2)
    return [];
  if (l1.length === 36 && l1.startsWith("IDFRA")) {
    return [
      part("document_number", 1, 0, 12, 12),
      part("birth_date", 1, 27, 33, 33),
      { field: "composite", spans: [[0, 0, 36], [1, 0, 35]], digit: [1, 35] },
    ];
  }
  const n = l1.length;
  if (n !== 44 && n !== 36)
    return [];
  const parts = [
    l2[9] === "<" ? null : part("document_number", 1, 0, 9, 9),
    part("birth_date", 1, 13, 19, 19),
    part("expiry_date", 1, 21, 27, 27),
  ];
  if (n === 44) {
    // An empty personal number may have '<' as its check digit.
    if (!(/^<{14}$/.test(l2.slice(28, 42)) && "<0".includes(l2[42])))
      parts.push(part("optional_data", 1, 28, 42, 42));
    parts.push({ field: "composite", spans: [[1, 0, 10], [1, 13, 20], [1, 21, 43]], digit: [1, 43] });
  } else {
    parts.push({ field: "composite", spans: [[1, 0, 10], [1, 13, 20], [1, 21, 35]], digit: [1, 35] });
  }
  return parts;
}

// The first part whose check digit does not match, as {field, line,
// from, to} (1-based characters, for people), or null.  The zone must
// already have the right shape (form.js mrzProblem).
export function checkDigitProblem (mrz) {
  const lines = mrz.split("\n");
  for (const p of partsOf(lines)) {
    if (!p)
      continue;
    const data = p.spans.map(([l, a, b]) => lines[l].slice(a, b)).join("");
    const [dl, at] = p.digit;
    if (checkDigit(data) !== lines[dl][at]) {
      const [l, a] = p.field === "composite" ? [dl, at] : p.spans[0];
      return { field: p.field, line: l + 1, from: a + 1, to: at + 1 };
    }
  }
  return null;
}

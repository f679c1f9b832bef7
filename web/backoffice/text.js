// SPDX-License-Identifier: AGPL-3.0-or-later
//
// text.js -- the back-office's language and how text reaches the DOM.
//
// Every visible word goes through here: t() looks a key up in i18n.js,
// setText() writes it and remembers the key (data-i18n, data-i18n-args) so
// translateDom() can redo the whole page when the language changes.  Text
// is only ever set with textContent, so nothing the server, an applicant or
// a reviewer typed can become markup.
//
// Also the formatting every view shares: times, ages, yes/no, numbers.

import { makeText } from "/common/text_core.js";
import { LANGS, MESSAGES } from "./i18n.js";

// Language choice, t(), setText() and translateDom() are shared with the
// other page of this origin (web/common/text_core.js).
export const { getLang, chooseLang, hasText, t, setText, clearText, el, raw,
               translateDom } = makeText(LANGS, MESSAGES);

function locale () {
  return getLang() === "fr" ? "fr-FR" : "en-GB";
}

// An RFC 3339 time for people, in the current language; null if unusable.
export function formatTime (iso, style = "medium") {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime()))
    return null;
  return new Intl.DateTimeFormat(locale(), { dateStyle: style === "long" ? "long" : "short",
                                             timeStyle: style === "long" ? "short" : "medium" })
    .format(d);
}

// A <time> element for an RFC 3339 time (the value as is if unreadable).
export function timeEl (iso, style) {
  const e = document.createElement("time");
  const text = formatTime(iso, style);
  if (text) {
    e.dateTime = iso;
    e.textContent = text;
  } else {
    e.textContent = iso ? String(iso) : "—";
  }
  return e;
}

// How long something has waited, from a number of seconds: "45 s",
// "12 min", "3 h 5 min", "2 d 4 h".
export function formatAge (seconds) {
  const s = Math.max(0, Math.floor(Number(seconds)));
  if (!Number.isFinite(s))
    return "—";
  if (s < 60)
    return t("age.s", { n: s });
  const m = Math.floor(s / 60);
  if (m < 60)
    return t("age.min", { n: m });
  const h = Math.floor(m / 60);
  if (h < 24)
    return m % 60 ? t("age.h_min", { h, m: m % 60 }) : t("age.h", { h });
  const d = Math.floor(h / 24);
  return h % 24 ? t("age.d_h", { d, h: h % 24 }) : t("age.d", { d });
}

export function formatNumber (n) {
  if (typeof n !== "number" || !Number.isFinite(n))
    return n === undefined || n === null ? "—" : String(n);
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(n);
}

// Any JSON value as one line of text for a person: yes/no for booleans,
// numbers in the current language, lists joined, objects as
// "key: value; key: value".
export function formatValue (v) {
  if (v === undefined || v === null || v === "")
    return "—";
  if (typeof v === "boolean")
    return t(v ? "value.yes" : "value.no");
  if (typeof v === "number")
    return formatNumber(v);
  if (Array.isArray(v))
    return v.length ? v.map(formatValue).join(", ") : "—";
  if (typeof v === "object") {
    const parts = Object.entries(v).map(([k, x]) =>
      `${k}: ${x !== null && typeof x === "object" && !Array.isArray(x)
        ? JSON.stringify(x) : formatValue(x)}`);
    return parts.length ? parts.join("; ") : "—";
  }
  return String(v);
}

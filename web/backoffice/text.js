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

import { LANGS, MESSAGES } from "./i18n.js";

// Shared with the enrolment pages (same origin): one choice for both.
const STORE_LANG = "guichet.lang";

let lang = pickLang();

// The saved choice, else the first of the browser's languages we speak,
// else English.
function pickLang () {
  let saved = null;
  try { saved = localStorage.getItem(STORE_LANG); } catch (e) { /* private mode */ }
  if (LANGS.includes(saved))
    return saved;
  const prefs = navigator.languages && navigator.languages.length
    ? navigator.languages : [navigator.language || "en"];
  for (const p of prefs) {
    const base = String(p).toLowerCase().split("-")[0];
    if (LANGS.includes(base))
      return base;
  }
  return "en";
}

export function getLang () {
  return lang;
}

// Switches and remembers the language; false if it was already that one.
export function chooseLang (l) {
  if (!LANGS.includes(l) || l === lang)
    return false;
  lang = l;
  try { localStorage.setItem(STORE_LANG, l); } catch (e) { /* private mode */ }
  return true;
}

export function hasText (key) {
  return MESSAGES.en[key] !== undefined;
}

// The text for key in the current language, with {name} replaced.  Falls
// back to English, then to the key itself.
export function t (key, params) {
  let s = MESSAGES[lang][key];
  if (s === undefined)
    s = MESSAGES.en[key];
  if (s === undefined)
    return key;
  if (params)
    s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

// Gives node a translatable text, remembered so a language switch redoes it.
export function setText (node, key, params) {
  node.dataset.i18n = key;
  if (params)
    node.dataset.i18nArgs = JSON.stringify(params);
  else
    delete node.dataset.i18nArgs;
  node.textContent = t(key, params);
  return node;
}

export function clearText (node) {
  delete node.dataset.i18n;
  delete node.dataset.i18nArgs;
  node.textContent = "";
}

// A new element with a class and, if key is given, its translatable text.
export function el (tag, cls, key, params) {
  const e = document.createElement(tag);
  if (cls)
    e.className = cls;
  if (key)
    setText(e, key, params);
  return e;
}

// A new element holding text as is (from the server or a person).
export function raw (tag, cls, text) {
  const e = document.createElement(tag);
  if (cls)
    e.className = cls;
  e.textContent = text === undefined || text === null ? "" : String(text);
  return e;
}

// Retranslates every remembered text and attribute of the document.
export function translateDom () {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const args = node.dataset.i18nArgs ? JSON.parse(node.dataset.i18nArgs) : undefined;
    node.textContent = t(node.dataset.i18n, args);
  }
  for (const node of document.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      node.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

function locale () {
  return lang === "fr" ? "fr-FR" : "en-GB";
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

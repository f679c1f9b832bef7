// SPDX-License-Identifier: AGPL-3.0-or-later
//
// text.js -- the page's current language and how text reaches the DOM.
//
// Every visible word goes through here: t() looks a key up in i18n.js,
// setText() writes it and remembers the key (data-i18n, data-i18n-args) so
// translateDom() can redo the whole page when the language changes.  Text
// is only ever set with textContent, so nothing the server or the
// applicant sends can become markup.

import { LANGS, MESSAGES } from "./i18n.js";

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

// An RFC 3339 time for people, in the current language; null if unusable.
export function formatTime (iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime()))
    return null;
  return new Intl.DateTimeFormat(lang === "fr" ? "fr-FR" : "en-GB",
                                 { dateStyle: "long", timeStyle: "short" }).format(d);
}

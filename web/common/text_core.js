// SPDX-License-Identifier: AGPL-3.0-or-later
//
// text_core.js -- language choice and how text reaches the DOM, shared by
// the enrolment pages and the back-office (served at /common/).
//
// Every visible word goes through t(), which looks a key up in the page's
// own dictionary; setText() writes it and remembers the key (data-i18n,
// data-i18n-args) so translateDom() can redo the whole page when the
// language changes.  Text is only ever set with textContent, so nothing
// the server or a person typed can become markup.  Both pages are on one
// origin and share the saved language choice.

export function makeText (LANGS, MESSAGES) {
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

  function getLang () {
    return lang;
  }

  // Switches and remembers the language; false if it was already that one.
  function chooseLang (l) {
    if (!LANGS.includes(l) || l === lang)
      return false;
    lang = l;
    try { localStorage.setItem(STORE_LANG, l); } catch (e) { /* private mode */ }
    return true;
  }

  function hasText (key) {
    return MESSAGES.en[key] !== undefined;
  }

  // The text for key in the current language, with {name} replaced.  Falls
  // back to English, then to the key itself.
  function t (key, params) {
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
  function setText (node, key, params) {
    node.dataset.i18n = key;
    if (params)
      node.dataset.i18nArgs = JSON.stringify(params);
    else
      delete node.dataset.i18nArgs;
    node.textContent = t(key, params);
    return node;
  }

  function clearText (node) {
    delete node.dataset.i18n;
    delete node.dataset.i18nArgs;
    node.textContent = "";
  }

  // A new element with a class and, if key is given, its translatable text.
  function el (tag, cls, key, params) {
    const e = document.createElement(tag);
    if (cls)
      e.className = cls;
    if (key)
      setText(e, key, params);
    return e;
  }

  // A new element holding text as is (from the server or a person).
  function raw (tag, cls, text) {
    const e = document.createElement(tag);
    if (cls)
      e.className = cls;
    e.textContent = text === undefined || text === null ? "" : String(text);
    return e;
  }

  // Retranslates every remembered text and attribute of the document.
  function translateDom () {
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

  return { getLang, chooseLang, hasText, t, setText, clearText, el, raw, translateDom };
}

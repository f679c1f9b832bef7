// SPDX-License-Identifier: AGPL-3.0-or-later
//
// text.js -- the page's current language and how text reaches the DOM.
//
// Every visible word goes through here: t() looks a key up in i18n.js,
// setText() writes it and remembers the key (data-i18n, data-i18n-args) so
// translateDom() can redo the whole page when the language changes.  Text
// is only ever set with textContent, so nothing the server or the
// applicant sends can become markup.

import { makeText } from "/common/text_core.js";
import { LANGS, MESSAGES } from "./i18n.js";

// Language choice, t(), setText() and translateDom() are shared with the
// other page of this origin (web/common/text_core.js).
export const { getLang, chooseLang, hasText, t, setText, clearText, el, raw,
               translateDom } = makeText(LANGS, MESSAGES);

// An RFC 3339 time for people, in the current language; null if unusable.
export function formatTime (iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime()))
    return null;
  return new Intl.DateTimeFormat(getLang() === "fr" ? "fr-FR" : "en-GB",
                                 { dateStyle: "long", timeStyle: "short" }).format(d);
}

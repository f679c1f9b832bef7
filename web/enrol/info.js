// SPDX-License-Identifier: AGPL-3.0-or-later
//
// info.js -- what the page shows around the steps, as the bank configured
// it (GET /v1/enrolment-info): the authenticator app's name and where to
// get it, the bank's contact, its help, privacy and legal pages, how long
// a review usually takes.  Loaded once; until it arrives (or if it never
// does) the page shows its defaults and no link.
//
// Links come from the server's configuration (http(s) only, checked when
// it is loaded) and go into href as they are; texts go in with textContent.

import { api } from "./api.js";
import { setText, t } from "./text.js";

const $ = (id) => document.getElementById(id);

let info = {
  app: { name: "Guichet", app_store_url: null, play_store_url: null },
  contact: { email: null, phone: null, hours: null },
  links: { help: null, privacy: null, legal: null },
  review_hours: null,
  session_idle_s: null,
};

export function pageInfo () {
  return info;
}

export function appName () {
  return (info.app && info.app.name) || "Guichet";
}

// Is this page read on a phone?  Then the phone to register is probably
// this one, and a QR code it would have to scan is no use.
export function onPhone () {
  const ua = navigator.userAgent || "";
  return /Android|iPhone|iPad|iPod|Mobile/i.test(ua)
    || (matchMedia("(pointer: coarse)").matches && matchMedia("(hover: none)").matches);
}

function link (a, href) {
  a.hidden = !href;
  if (href)
    a.setAttribute("href", href);
  else
    a.removeAttribute("href");
  return !!href;
}

// Writes what depends on the configuration; safe to call again (a
// language switch calls it after translating the page).
export function applyInfo () {
  const app = { app: appName() };
  for (const node of document.querySelectorAll("[data-app-text]"))
    setText(node, node.dataset.appText, app);
  const img = $("qr-img");
  if (img)
    img.alt = t("device.qr_alt", app);
  // Where to get the app.
  const apple = link($("store-apple"), info.app.app_store_url);
  const google = link($("store-google"), info.app.play_store_url);
  $("store-links").hidden = !apple && !google;
  setText($("app-install-where"), apple || google ? "device.install_where_links" : "device.install_where_store", app);
  // The footer: contact and links.
  const c = info.contact || {};
  const contact = $("footer-contact");
  contact.hidden = !c.email && !c.phone;
  link($("contact-email"), c.email ? "mailto:" + c.email : null);
  $("contact-email").textContent = c.email || "";
  link($("contact-phone"), c.phone ? "tel:" + c.phone.replace(/[^\d+]/g, "") : null);
  $("contact-phone").textContent = c.phone || "";
  const hours = $("contact-hours");
  hours.hidden = !c.hours;
  hours.textContent = c.hours ? `(${c.hours})` : "";
  const l = info.links || {};
  const any = [link($("link-help"), l.help), link($("link-privacy"), l.privacy),
               link($("link-legal"), l.legal)].some(Boolean);
  $("footer-links").hidden = !any;
}

// After how many idle minutes a session ends (5 until the server says).
export function idleMinutes () {
  const idle = Number(info.session_idle_s);
  return Number.isInteger(idle) && idle > 0 ? Math.max(1, Math.round(idle / 60)) : 5;
}

export async function loadInfo () {
  try {
    const r = await api("GET", "/v1/enrolment-info");
    if (r.data && typeof r.data === "object")
      info = { ...info, ...r.data };
  } catch (e) {
    // The defaults stay: the page works without its decorations.
  }
  applyInfo();
}

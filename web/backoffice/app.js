// SPDX-License-Identifier: AGPL-3.0-or-later
//
// app.js -- the back-office: who is signed in, which view the address
// asks for, and the page frame (navigation, language, sign-out).
//
// Routes (the part after "#"): /login, /reviews (queue.js), /reviews/<id>
// (review.js), /audit (audit.js), /assist (assist.js; an advisor's home),
// /outbox (outbox.js; admins only).  Every other view needs a session: the
// page asks GET /v1/admin/me on load; without one it shows the login and,
// once signed in, goes where it was asked.  A 401 anywhere later means the
// session ended (15 minutes idle, or signed out elsewhere): back to the
// login with "your session expired", then back to the same place.
//
// The server is the only judge of roles and states; this page only hides
// what cannot apply.  Nothing is written with innerHTML.

import { api, ApiError, csrfToken, paths, setCsrfToken } from "./api.js";
import { initAssist, showAssist } from "./assist.js";
import { showAudit, initAudit } from "./audit.js";
import { $, current, handleError, hideBanner, hideNotice, onSessionLost, showView,
         updateTitle } from "./frame.js";
import { initLogin, showLogin } from "./login.js";
import { initOutbox, showOutbox } from "./outbox.js";
import { initQueue, showQueue } from "./queue.js";
import { initReview, showReview } from "./review.js";
import { chooseLang, getLang, setText, t, translateDom } from "./text.js";

let session = null;          // { username, role } when signed in
let afterLogin = null;       // the hash to return to after signing in
let loginNotice = null;      // i18n key shown above the login form
let nextOpts = null;         // options for the navigation go() started

// Other tabs of the back-office in this browser share the cookie, hence
// the session: a sign-in or sign-out in one is told to the others, with
// the new CSRF token, so no tab is left sending a stale one.
const tabs = typeof BroadcastChannel === "function"
  ? new BroadcastChannel("guichet-backoffice") : null;

// ------------------------------------------------------------ language

function translatePage () {
  translateDom();
  for (const b of document.querySelectorAll("[data-lang]"))
    b.setAttribute("aria-pressed", String(b.dataset.lang === getLang()));
  updateHeader();
  updateTitle();
}

function setLang (l) {
  if (!chooseLang(l))
    return;
  translatePage();
  if (current.redraw)
    current.redraw();
  updateTitle();
}

// ------------------------------------------------------------ frame

// Where a signed-in user starts: advisors assist, everyone else reviews.
function home () {
  return session && session.role === "advisor" ? "#/assist" : "#/reviews";
}

function updateHeader () {
  const signedIn = Boolean(session);
  const role = session && session.role;
  $("mainnav").hidden = !signedIn;
  // Only links the role can use (the server refuses the others anyway).
  $("nav-reviews").hidden = role === "advisor";
  $("nav-audit").hidden = role === "advisor";
  $("nav-assist").hidden = role === "reviewer";
  $("nav-outbox").hidden = role !== "admin";
  $("logout").hidden = !signedIn;
  const who = $("whoami");
  who.hidden = !signedIn;
  if (signedIn) {
    const role = session.role ? t("role." + session.role) : "";
    setText(who, role ? "nav.whoami_role" : "nav.whoami",
            { name: session.username || "?", role });
  }
}

function markNav (name) {
  for (const a of document.querySelectorAll("#mainnav [data-route]")) {
    if (a.dataset.route === name)
      a.setAttribute("aria-current", "page");
    else
      a.removeAttribute("aria-current");
  }
}

// Navigates to hash.  opts.replace: no new history entry; opts.focus:
// false keeps focus where it is (a filter changed).
function go (hash, opts = {}) {
  if (opts.replace) {
    history.replaceState(null, "", location.pathname + location.search + hash);
    route(opts);
    return;
  }
  if (location.hash === hash) {
    route(opts);
    return;
  }
  nextOpts = opts;
  location.hash = hash;
}

function parseHash () {
  let h = location.hash.replace(/^#\/?/, "");
  const qi = h.indexOf("?");
  const query = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : "");
  h = qi >= 0 ? h.slice(0, qi) : h;
  const parts = h.split("/").filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch (e) { return p; }
  });
  return { parts, query };
}

// Shows what the address asks for.  opts.focus (default true) moves focus
// to the new view's heading.
function route (opts = {}) {
  current.seq++;
  current.redraw = null;
  const focus = opts.focus !== false;
  hideBanner();
  if (!opts.keepNotice)
    hideNotice();
  const { parts, query } = parseHash();
  const name = parts[0] || "";

  if (name === "login") {
    markNav(null);
    if (session) {
      go(afterLogin || home(), { replace: true });
      return;
    }
    const notice = loginNotice;
    loginNotice = null;
    current.redraw = () => {};
    showLogin(notice, { focus });
    return;
  }
  if (!session) {
    afterLogin = name ? location.hash : null;
    go("#/login", { replace: true, focus });
    return;
  }
  markNav(name);
  if (name === "" ) {
    go(home(), { replace: true, focus });
  } else if (name === "reviews" && parts.length === 1) {
    showQueue(query, { focus });
  } else if (name === "reviews" && parts.length === 2) {
    showReview(parts[1], { focus });
  } else if (name === "audit" && parts.length === 1) {
    showAudit(query, { focus });
  } else if (name === "assist" && parts.length === 1) {
    showAssist({ focus });
  } else if (name === "outbox" && parts.length === 1) {
    showOutbox(query, { focus });
  } else {
    setText($("notfound-heading"), "notfound.heading");
    setText($("notfound-text"), "notfound.text");
    showView("notfound", { focus });
  }
}

// ------------------------------------------------------------ session

function signedIn (who) {
  if (tabs)
    tabs.postMessage({ type: "signed_in", who, csrf: csrfToken() });
  session = who;
  loginNotice = null;
  updateHeader();
  const to = afterLogin && !afterLogin.startsWith("#/login") ? afterLogin : home();
  afterLogin = null;
  go(to, { replace: true });
}

// The session is gone (401): forget this tab's token, keep where we were.
function sessionLost () {
  const was = location.hash;
  session = null;
  setCsrfToken(null);
  updateHeader();
  loginNotice = "login.expired";
  if (!was.startsWith("#/login"))
    afterLogin = was;
  go("#/login", { replace: true });
}

async function signOut () {
  try {
    await api("POST", paths.logout, {});
  } catch (e) {
    // Already gone is fine; anything else, the session stays: say so.
    if (e instanceof ApiError && e.status !== 401 && e.status !== 403) {
      handleError(e);
      return;
    }
  }
  if (tabs)
    tabs.postMessage({ type: "signed_out" });
  signedOut();
}

function signedOut () {
  session = null;
  setCsrfToken(null);
  updateHeader();
  loginNotice = "login.signed_out";
  afterLogin = null;
  go("#/login", { replace: true });
}

function fromOtherTab (ev) {
  const m = ev.data || {};
  if (m.type === "signed_in" && m.csrf && m.who) {
    setCsrfToken(m.csrf);
    const wasOut = !session;
    session = m.who;
    updateHeader();
    if (wasOut && current.view === "login") {
      const to = afterLogin || home();
      afterLogin = null;
      go(to, { replace: true, focus: false });
    }
  } else if (m.type === "signed_out" && session) {
    signedOut();
  }
}

// Who are we?  A session without this tab's CSRF token cannot act (the
// token lives in this tab's sessionStorage): sign in again here.
async function checkSession () {
  $("retry").hidden = true;
  showView("loading");
  try {
    const me = await api("GET", paths.me);
    if (me && me.csrf_token)
      setCsrfToken(me.csrf_token);
    if (csrfToken()) {
      session = { username: me && me.username, role: me && me.role };
    } else {
      session = null;
      loginNotice = "login.this_tab";
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      if (csrfToken())
        loginNotice = "login.expired";
      setCsrfToken(null);
      session = null;
    } else {
      handleError(e);
      $("retry").hidden = false;
      return;
    }
  }
  updateHeader();
  route({ focus: false });
}

// ------------------------------------------------------------ start

function start () {
  translatePage();
  onSessionLost(sessionLost);
  for (const b of document.querySelectorAll("[data-lang]"))
    b.addEventListener("click", () => setLang(b.dataset.lang));
  // The address's hash is the route: the skip link moves focus instead.
  $("skip-link").addEventListener("click", (ev) => {
    ev.preventDefault();
    $("main").focus();
  });
  $("logout").addEventListener("click", signOut);
  $("retry").addEventListener("click", checkSession);
  initLogin(signedIn);
  initQueue(go);
  initReview(() => (session ? session.username : null));
  initAudit(go);
  initAssist();
  initOutbox(go);
  if (tabs)
    tabs.addEventListener("message", fromOtherTab);
  window.addEventListener("hashchange", () => {
    const opts = nextOpts || {};
    nextOpts = null;
    route(opts);
  });
  checkSession();
}

start();

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// review.js -- #/reviews/<id>: one flagged device or identity, explained
// for the person who decides it, and the decision form.
//
// What the server sends (GET /v1/admin/reviews/{id}) is the queue row plus
// "device" (platform, model, install id, address, what the phone reported,
// and the risk decision: score, reasons, and for each rule its value,
// weight, points, floor and explanation), "identity" (the identity check's
// decision, reasons and checks), "history" (related devices, enrolments and
// attempts) and "decisions" (approvals so far).  Reasons are shown in plain
// words (reasons.js); anything this page does not know is shown as it is,
// never dropped.
//
// Deciding: approve resumes the enrolment; reject ends it and blocklists the
// phone (and the address if asked).  A comment is required.  Four eyes: an
// approval of a review whose score reached the four-eyes threshold, that
// matched a sanctions list, or that attaches to an existing customer
// (attach_customer_id, said plainly above the reasons) leaves it
// "awaiting_second_approval" until a second, different admin approves.

import { api, ApiError, paths } from "./api.js";
import { $, clearFieldErrors, current, handleError, hideBanner, hideNotice, setBusy,
         setFieldError, showBanner, showNotice, showView, updateTitle } from "./frame.js";
import { clearText, el, formatAge, formatValue, hasText, raw, setText, t,
         timeEl } from "./text.js";
import { applicantName, code, fillFacts, fillReasons, kindLabel, scoreBadge,
         setKnown, stateLabel } from "./widgets.js";

const OPEN_STATES = new Set(["open", "awaiting_second_approval"]);

let shown = null;         // the review drawn now
let submitting = false;
let whoami = () => null;  // the signed-in admin's name (app.js)
let myRole = () => null;  // and role

// Loads and shows review id.  opts.focus after a navigation; opts.keep:
// keep the notice (after a decision) and the form's content.
export async function showReview (id, opts = {}) {
  const seq = current.seq;
  const sameOne = shown && shown.id === id;
  if (!sameOne) {
    shown = null;
    resetForm();
    clearParts();
    setText($("review-heading"), "review.loading");
  }
  showView("review", opts);
  current.redraw = () => shown && draw(shown);
  $("view-review").setAttribute("aria-busy", "true");
  try {
    const r = await api("GET", paths.review(id));
    if (seq !== current.seq)
      return;
    shown = r || {};
    if (!shown.id)
      shown.id = id;
    draw(shown);
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (e.status === 404) {
      setText($("notfound-heading"), "review.not_found");
      setText($("notfound-text"), "review.not_found_text");
      showView("notfound", opts);
      return;
    }
    handleError(e);
  } finally {
    $("view-review").setAttribute("aria-busy", "false");
  }
}

function clearParts () {
  for (const id of ["review-summary", "review-reasons", "applicant-facts", "device-facts",
                    "compare-body", "sanctions-hits",
                    "signals-body", "quiet-body", "raw-signals", "identity-reasons", "checks-body", "history-body",
                    "decisions-list"])
    $(id).replaceChildren();
  clearText($("risk-line"));
  clearText($("review-attach"));
  $("review-attach").hidden = true;
  for (const id of ["applicant-part", "device-part", "identity-part", "history-part", "decide-part",
                    "decide-closed", "assign-box", "next-box"])
    $(id).hidden = true;
}

// ------------------------------------------------------------ drawing

function draw (r) {
  const name = applicantName(r.applicant);
  const kindKey = r.kind === "identity" ? "review.heading_identity" : "review.heading_device";
  setText($("review-heading"), name ? kindKey : "review.heading", { name });
  updateTitle();
  $("view-review").dataset.reviewId = r.id;
  $("view-review").dataset.state = r.state || "";

  const risk = (r.device && r.device.risk) || {};
  const enr = r.enrolment && typeof r.enrolment === "object" ? r.enrolment : {};
  fillFacts($("review-summary"), [
    ["review.state", stateLabel(r.state)],
    ["review.kind", kindLabel(r.kind)],
    // A score exists for phones only: nothing rather than a dash.
    ["review.score", typeof r.score === "number" || typeof risk.score === "number"
      ? scoreBadge(typeof r.score === "number" ? r.score : risk.score) : undefined],
    ["review.four_eyes", r.four_eyes === true ? el("span", null, "review.four_eyes_yes")
      : undefined],
    ["review.attach", r.attach_customer_id ? code(r.attach_customer_id) : undefined],
    ["review.applicant", name || undefined],
    ["review.enrolment", r.enrolment_id ? code(r.enrolment_id) : undefined],
    ["review.enrolment_state", enr.state ? stateLabel(enr.state) : undefined],
    ["review.device", r.device_id ? code(r.device_id) : undefined],
    ["review.created", r.created_at ? timeEl(r.created_at) : undefined],
    ["review.age", r.age_seconds !== undefined && OPEN_STATES.has(r.state)
      ? formatAge(r.age_seconds) : undefined],
    ["review.expires", enr.expires_at && OPEN_STATES.has(r.state)
      ? timeEl(enr.expires_at) : undefined],
    ["review.decided", r.decided_at ? timeEl(r.decided_at) : undefined],
    ["review.reference", code(r.id)],
  ]);

  drawAttach(r);
  drawAssign(r);
  const reasons = Array.isArray(r.reasons) && r.reasons.length ? r.reasons
    : (risk.reasons || (r.identity && r.identity.reasons) || []);
  const n = fillReasons($("review-reasons"), reasons, true);
  $("review-no-reasons").hidden = n > 0;

  drawApplicant(r.applicant, r.identity);
  drawDevice(r.device);
  drawIdentity(r.identity);
  drawHistory(r.history, r.kind);
  drawDecisions(r.decisions);
  drawDecide(r);
}

// Who works on it; an open review can be taken or released.
function drawAssign (r) {
  const box = $("assign-box");
  const open = OPEN_STATES.has(r.state);
  box.hidden = !open;
  if (!open)
    return;
  const mine = r.assigned_to && r.assigned_to === whoami();
  const p = $("assign-state");
  if (!r.assigned_to)
    setText(p, "assign.nobody");
  else if (mine)
    setText(p, "assign.me");
  else
    setText(p, "assign.other", { name: r.assigned_to });
  p.dataset.assigned = r.assigned_to || "";
  $("assign-take").hidden = Boolean(mine);
  $("assign-release").hidden = !mine;
}

async function onAssign (release) {
  if (!shown)
    return;
  const id = shown.id;
  try {
    await api("POST", paths.assign(id), release ? { release: true } : {});
    showNotice(release ? "assign.released" : "assign.taken", null, { focus: false });
    await showReview(id, { keep: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      showDecideError("decide.conflict");
      showReview(id, { keep: true });
      return;
    }
    handleError(e);
  }
}

// After a decision: the oldest open review this person can act on (not
// taken by someone else, not waiting for the applicant, not a second
// approval they may not give).
async function findNext (doneId) {
  const box = $("next-box");
  try {
    const r = await api("GET", paths.reviews({ state: "open", limit: 50 }));
    const me = whoami();
    const next = (r && Array.isArray(r.reviews) ? r.reviews : []).find((x) =>
      x.id !== doneId && (!x.assigned_to || x.assigned_to === me) && !x.asked_at
      && !(x.state === "awaiting_second_approval"
           && (myRole() !== "admin" || x.first_approver === me)));
    const link = $("next-review");
    link.hidden = !next;
    $("no-next").hidden = Boolean(next);
    if (next)
      link.href = "#/reviews/" + encodeURIComponent(next.id);
    box.hidden = false;
  } catch (e) {
    box.hidden = true;
  }
}

// An identity review says plainly what approving does to customers: attach
// to the existing customer whose document this is (four eyes), or, for any
// other duplicate, create a new customer.
function drawAttach (r) {
  const p = $("review-attach");
  const dup = Array.isArray(r.reasons) && r.reasons.includes("duplicate_identity");
  p.classList.toggle("attach--customer", Boolean(r.attach_customer_id));
  if (r.kind === "identity" && r.attach_customer_id)
    setText(p, "review.attach_customer", { customer: r.attach_customer_id });
  else if (r.kind === "identity" && dup)
    setText(p, "review.attach_new");
  else
    clearText(p);
  p.dataset.attach = r.attach_customer_id || "";
  p.hidden = !p.textContent;
}

// What the applicant typed (the identity check compared it with the
// document).
const APPLICANT_FACTS = [
  ["surname", "applicant.surname"], ["given_names", "applicant.given_names"],
  ["birth_date", "applicant.birth_date"], ["nationality", "applicant.nationality"],
  ["residence_country", "applicant.residence_country"], ["email", "applicant.email"],
  ["phone", "applicant.phone"],
];

// The identity check's own checks, by name.
function checksByName (idn) {
  const out = {};
  for (const c of (idn && Array.isArray(idn.checks)) ? idn.checks : [])
    if (c && typeof c === "object" && c.check)
      out[c.check] = c;
  return out;
}

function verdict (ok, failKey = "compare.differs", okKey = "compare.same") {
  const s = el("span", ok ? "result-pass" : "result-fail", ok ? okKey : failKey);
  s.dataset.ok = String(ok);
  return s;
}

// Typed beside read, row by row; the check's verdict is the server's.
function drawCompare (a, idn) {
  const wrap = $("compare-wrap");
  const body = $("compare-body");
  body.replaceChildren();
  const checks = checksByName(idn);
  const mrz = checks.mrz;
  const doc = mrz && mrz.document && typeof mrz.document === "object" ? mrz.document : null;
  if (!doc) {
    wrap.hidden = true;
    return false;
  }
  const row = (field, typed, read, check) => {
    const tr = document.createElement("tr");
    tr.dataset.field = field;
    tr.dataset.testid = `compare-${field}`;
    const th = el("th", null, `compare.${field}`);
    th.scope = "row";
    const td = (labelKey, v) => {
      const c = cellText(labelKey, "");
      if (v instanceof Node)
        c.append(v);
      else
        c.textContent = v === undefined || v === null || v === "" ? "" : String(v);
      return c;
    };
    tr.append(th, td("compare.col_typed", typed), td("compare.col_document", read),
              td("compare.col_check", check || ""));
    if (check && check.dataset && check.dataset.ok === "false")
      tr.className = "compare--differs";
    body.append(tr);
  };
  const nameCheck = checks.name;
  const nameOk = !nameCheck || nameCheck.result === "pass";
  const nameVerdict = () => (nameCheck && nameCheck.detail === "word_structure"
    ? verdict(false, "compare.word_structure") : verdict(nameOk));
  row("surname", a.surname, doc.surname, nameVerdict());
  row("given_names", a.given_names, doc.given_names, nameVerdict());
  row("birth_date", a.birth_date, doc.birth_date,
      checks.birth_date ? verdict(checks.birth_date.result === "pass") : null);
  row("nationality", a.nationality, doc.nationality,
      checks.nationality ? verdict(checks.nationality.result === "pass") : null);
  const exp = checks.expiry;
  row("expiry_date", el("span", "note", "compare.not_asked"),
      doc.expiry_derived ? t("compare.derived", { date: doc.expiry_date }) : doc.expiry_date,
      exp ? verdict(exp.result === "pass", "compare.expired", "compare.valid") : null);
  const num = code(mrz.document_number || "—");
  num.title = t("compare.masked");
  row("document_number", el("span", "note", "compare.not_asked"), num, null);
  row("document", el("span", "note", "compare.not_asked"),
      [mrz.document_code, mrz.issuing_state].filter(Boolean).join(" · "), null);
  wrap.hidden = false;
  return true;
}

const COMPARED = new Set(["surname", "given_names", "birth_date", "nationality"]);

function drawApplicant (a, idn) {
  const part = $("applicant-part");
  if (!a || typeof a !== "object") {
    part.hidden = true;
    return;
  }
  const compared = drawCompare(a, idn);
  const pairs = [];
  const done = new Set(compared ? COMPARED : []);
  for (const [k, label] of APPLICANT_FACTS) {
    if (a[k] === undefined || done.has(k))
      continue;
    done.add(k);
    pairs.push([label, a[k]]);
  }
  for (const [k, v] of Object.entries(a))
    if (!done.has(k) && (v === null || typeof v !== "object"))
      pairs.push([k, v]);
  fillFacts($("applicant-facts"), pairs);
  part.hidden = pairs.length === 0 && !compared;
}

const DEVICE_FACTS = [
  ["platform", "device.platform"], ["model", "device.model"],
  ["os_version", "device.os_version"], ["app_version", "device.app_version"],
  ["install_id", "device.install_id"], ["client_addr", "device.client_addr"],
  ["client_country", "device.client_country"], ["status", "device.status"],
  ["state", "device.status"], ["id", "device.id"],
  ["public_key_sha256", "device.public_key_sha256"], ["created_at", "device.created_at"],
];
const IDENT_KEYS = new Set(["install_id", "client_addr", "id", "device_key", "public_key",
                            "public_key_sha256"]);
const STATE_KEYS = new Set(["status", "state", "enrolment_state"]);

function drawDevice (d) {
  const part = $("device-part");
  if (!d || typeof d !== "object") {
    part.hidden = true;
    return;
  }
  part.hidden = false;
  const pairs = [];
  const done = new Set(["signals", "risk"]);
  for (const [k, label] of DEVICE_FACTS) {
    if (d[k] === undefined)
      continue;
    done.add(k);
    pairs.push([label, factValue(k, d[k])]);
  }
  // Whatever else the server says about the phone, as it is.
  for (const [k, v] of Object.entries(d))
    if (!done.has(k) && (v === null || typeof v !== "object" || Array.isArray(v)))
      pairs.push([hasText("device." + k) ? "device." + k : k, factValue(k, v)]);
  fillFacts($("device-facts"), pairs);

  const risk = d.risk && typeof d.risk === "object" ? d.risk : {};
  drawRiskLine(risk);
  drawSignals(risk.signals);

  const rawSignals = d.signals && typeof d.signals === "object" ? d.signals : {};
  fillFacts($("raw-signals"), Object.entries(rawSignals).map(([k, v]) =>
    [hasText("signal." + k) ? "signal." + k : k, factValue(k, v)]));
  $("raw-signals-box").hidden = Object.keys(rawSignals).length === 0;
}

function factValue (key, v) {
  if (typeof v === "string" && STATE_KEYS.has(key))
    return stateLabel(v);
  if (typeof v === "string" && (IDENT_KEYS.has(key) || /_(id|addr|hash|sha256)$/.test(key)))
    return code(v);
  if (typeof v === "string" && /(_at|^at)$/.test(key))
    return timeEl(v);
  return v;
}

// "Score 55 out of 100: review. Rule set 2024-06, inputs 3f2a…".
function drawRiskLine (risk) {
  const line = $("risk-line");
  line.replaceChildren();
  if (typeof risk.score === "number")
    line.append(el("span", null, "risk.score", { score: risk.score }));
  if (risk.decision) {
    line.append(" ");
    const key = "risk.decision." + risk.decision;
    line.append(hasText(key) ? el("strong", null, key) : raw("strong", null, risk.decision));
  }
  if (risk.ruleset_version !== undefined) {
    line.append(" · ", el("span", null, "risk.ruleset"), " ",
                code(String(risk.ruleset_version)));
  }
  if (risk.input_hash) {
    line.append(" · ", el("span", null, "risk.input_hash"), " ");
    const h = code(String(risk.input_hash).slice(0, 16) + "…");
    h.title = String(risk.input_hash);
    line.append(h);
  }
  line.hidden = line.childNodes.length === 0;
}

// The rules that fired, most points first; then, folded away, every rule
// that was checked and did not fire (or could not be checked, and why).
// Each rule: {value, fired, weight, contribution, floor, explanation} or
// {value, fired: false, skipped}.
function drawSignals (signals) {
  const body = $("signals-body");
  const quiet = $("quiet-body");
  body.replaceChildren();
  quiet.replaceChildren();
  const rows = signals && typeof signals === "object" && !Array.isArray(signals)
    ? Object.entries(signals).map(([rule, s]) => [rule, s && typeof s === "object"
      && !Array.isArray(s) ? s : { value: s }]) : [];
  const points = (s) => (typeof s.contribution === "number" ? s.contribution : 0);
  const fired = (s) => (s.fired !== undefined ? s.fired === true : points(s) > 0);
  rows.sort((a, b) => points(b[1]) - points(a[1]) || a[0].localeCompare(b[0]));
  for (const [rule, s] of rows) {
    const tr = document.createElement("tr");
    tr.dataset.rule = rule;
    tr.dataset.testid = `signal-${rule}`;
    if (fired(s)) {
      tr.className = "signal--hit";
      tr.append(ruleCell(rule),
                cellText("signals.col_value", formatValue(s.value)),
                cellText("signals.col_weight", formatValue(s.weight), "num"),
                cellText("signals.col_contribution",
                         points(s) > 0 ? "+" + formatValue(points(s))
                           : formatValue(s.contribution), "num"),
                cellFloor(s.floor),
                cellText("signals.col_explanation", s.explanation ? String(s.explanation) : "—"));
      body.append(tr);
    } else {
      tr.dataset.testid = `quiet-${rule}`;
      const note = cellText("signals.col_note", "");
      if (s.skipped)
        note.append(el("span", null, "signals.skipped"), " ", raw("span", null, s.skipped));
      else
        setText(note, "signals.not_fired");
      tr.append(ruleCell(rule), cellText("signals.col_value", formatValue(s.value)), note);
      quiet.append(tr);
    }
  }
  $("signals-table").hidden = body.children.length === 0;
  $("signals-empty").hidden = body.children.length > 0;
  $("quiet-box").hidden = quiet.children.length === 0;
  setText($("quiet-summary"), "signals.quiet", { n: quiet.children.length });
}

function ruleCell (rule) {
  const th = document.createElement("th");
  th.scope = "row";
  const key = `reason.${rule}.title`;
  th.append(hasText(key) ? el("span", "signal__name", key) : raw("span", "signal__name", rule),
            raw("code", "reason__code", rule));
  return th;
}

function cellText (labelKey, text, cls) {
  const td = document.createElement("td");
  td.dataset.i18nAttr = `data-label:${labelKey}`;
  td.setAttribute("data-label", t(labelKey));
  if (cls)
    td.className = cls;
  td.textContent = text;
  return td;
}

function cellFloor (floor) {
  const td = cellText("signals.col_floor", "");
  if (floor === undefined || floor === null || floor === "" || floor === false)
    td.textContent = "—";
  else if (typeof floor === "string" && hasText("risk.decision." + floor))
    td.append(el("span", null, "risk.decision." + floor));
  else
    td.textContent = formatValue(floor);
  return td;
}

function drawIdentity (idn) {
  const part = $("identity-part");
  if (!idn || typeof idn !== "object") {
    part.hidden = true;
    return;
  }
  part.hidden = false;
  const dec = $("identity-decision");
  const d = idn.decision || "";
  dec.className = `decision decision--${String(d).replace(/[^a-z]/g, "")}`;
  dec.dataset.decision = d;
  setKnown(dec, "identity.decision." + d, d || "—");
  fillReasons($("identity-reasons"), idn.reasons, true);
  const body = $("checks-body");
  body.replaceChildren();
  for (const c of Array.isArray(idn.checks) ? idn.checks : []) {
    if (!c || typeof c !== "object")
      continue;
    const tr = document.createElement("tr");
    tr.dataset.check = c.check || "";
    const th = document.createElement("th");
    th.scope = "row";
    setKnown(th, "check." + c.check, c.check || "—");
    const res = document.createElement("td");
    res.className = `result-${String(c.result).replace(/[^a-z]/g, "")}`;
    setKnown(res, "result." + c.result, c.result === undefined ? "—" : String(c.result));
    const det = document.createElement("td");
    det.textContent = checkDetails(c);
    tr.append(th, res, det);
    body.append(tr);
  }
  $("checks-table").hidden = body.children.length === 0;
  drawSanctions(checksByName(idn).sanctions);
}

// One line per check, in words where the page knows the check; the
// comparison table and the sanctions cards say the rest.
function checkDetails (c) {
  if (c.check === "mrz" && c.result === "pass")
    return [c.document_code, c.issuing_state, c.document_number].filter(Boolean).join(" · ");
  if (c.check === "sanctions") {
    const n = Array.isArray(c.hits) ? c.hits.length : 0;
    const list = c.list ? " · " + t("sanctions.list", { list: c.list }) : "";
    if (c.result === "unavailable")
      return list ? list.slice(3) : "—";
    return (n ? t("sanctions.summary", { n }) : t("sanctions.no_hit")) + list;
  }
  const rest = Object.entries(c).filter(([k]) => !["check", "result", "document", "hits"].includes(k));
  return rest.length
    ? rest.map(([k, v]) => `${k}: ${typeof v === "number" ? String(v) : formatValue(v)}`).join(" · ")
    : "—";
}

function list (values) {
  return Array.isArray(values) && values.length ? values.join("; ") : undefined;
}

// Each hit: the listed individual as the list describes them, beside the
// screening's own verdict.  Never a bare entry number.
function drawSanctions (c) {
  const box = $("sanctions-box");
  const out = $("sanctions-hits");
  out.replaceChildren();
  const hits = c && Array.isArray(c.hits) ? c.hits : [];
  for (const h of hits) {
    const art = document.createElement("article");
    art.className = "sanction";
    art.dataset.testid = "sanction-hit";
    art.dataset.entry = String(h.entry_id);
    const e = h.entry && typeof h.entry === "object" ? h.entry : null;
    const names = e && Array.isArray(e.names) ? e.names : [];
    const primary = names.find((n) => !n.alias) || names[0];
    art.append(raw("h4", "sanction__name", primary ? primary.name : h.name));
    if (!e)
      art.append(el("p", "note", "sanctions.gone", { id: String(h.entry_id), name: h.name }));
    const by = (Array.isArray(h.screened) ? h.screened : [])
      .map((x) => (hasText("sanctions.by." + x) ? t("sanctions.by." + x) : x)).join(", ");
    const dl = document.createElement("dl");
    dl.className = "facts facts--compact";
    const pct = typeof h.score === "number" ? Math.round(h.score * 100) : "?";
    fillFacts(dl, [
      ["sanctions.verdict", el("strong", h.match ? "result-fail" : "", h.match ? "sanctions.match"
        : "sanctions.near")],
      ["sanctions.similarity", t("sanctions.similarity_value", { pct, name: h.name })],
      ["sanctions.found_by", by || undefined],
      ["sanctions.dob_check", hasText("sanctions.dob." + h.dob) ? t("sanctions.dob." + h.dob)
        : h.dob],
      ["sanctions.aliases", e ? list(names.filter((n) => n !== primary).map((n) => n.name))
        : undefined],
      ["sanctions.birth_dates", e ? list(e.birth_dates) || "—" : undefined],
      ["sanctions.places", e ? list(e.places_of_birth) : undefined],
      ["sanctions.nationalities", e ? list(e.nationalities) || "—" : undefined],
      ["sanctions.citizenships", e ? list(e.citizenships) : undefined],
      ["sanctions.programmes", e ? list(e.programmes) : undefined],
      ["sanctions.title", e && e.title ? e.title : undefined],
      ["sanctions.entry", `${h.entry_id}${e && e.list ? " · " + e.list : ""}`],
    ]);
    art.append(dl);
    out.append(art);
  }
  box.hidden = hits.length === 0;
}

// history: an object of lists ({"devices": […], "enrolments": […]}), or a
// list.  Each list becomes a table whose columns are its objects' keys.
function drawHistory (h, kind) {
  const part = $("history-part");
  const box = $("history-body");
  box.replaceChildren();
  if (!h || typeof h !== "object") {
    part.hidden = true;
    return;
  }
  part.hidden = false;
  // An identity review has no phone: only other applications matter.
  const identity = kind === "identity";
  setText($("history-heading"), identity ? "history.heading_identity" : "history.heading");
  let groups = Array.isArray(h) ? [["history.events", h]] : Object.entries(h);
  if (identity)
    groups = groups.filter(([name]) => name === "enrolments");
  for (const [name, list] of groups) {
    const key = name.startsWith("history.") ? name : "history." + name;
    const sec = document.createElement("div");
    sec.className = "history-group";
    sec.dataset.history = name;
    const h3 = document.createElement("h3");
    setKnown(h3, key, name);
    sec.append(h3);
    if (!Array.isArray(list)) {
      sec.append(raw("p", null, formatValue(list)));
    } else if (list.length === 0) {
      sec.append(el("p", "note", "history.none"));
    } else if (list.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
      sec.append(historyTable(list, h3));
    } else {
      const ul = document.createElement("ul");
      for (const x of list)
        ul.append(raw("li", null, formatValue(x)));
      sec.append(ul);
    }
    box.append(sec);
  }
  if (groups.length === 0)
    box.append(el("p", "note", "history.none"));
}

function historyTable (list, caption) {
  const cols = [];
  for (const o of list)
    for (const k of Object.keys(o))
      if (!cols.includes(k))
        cols.push(k);
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  table.className = "table table--history";
  caption.id = caption.id || "history-" + Math.random().toString(36).slice(2);
  table.setAttribute("aria-labelledby", caption.id);
  // A wide table scrolls sideways: keyboard users can reach it to scroll.
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-labelledby", caption.id);
  const head = document.createElement("tr");
  for (const c of cols) {
    const th = document.createElement("th");
    th.scope = "col";
    setKnown(th, "field." + c, c);
    head.append(th);
  }
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  for (const o of list) {
    const tr = document.createElement("tr");
    for (const c of cols) {
      const td = document.createElement("td");
      td.dataset.i18nAttr = `data-label:${hasText("field." + c) ? "field." + c : c}`;
      td.setAttribute("data-label", hasText("field." + c) ? t("field." + c) : c);
      const v = factValue(c, o[c]);
      if (v instanceof Node)
        td.append(v);
      else if (c === "reasons" && Array.isArray(v))
        td.textContent = v.map((x) => (hasText(`reason.${x}.title`) ? t(`reason.${x}.title`) : x))
          .join(", ") || "—";
      else if ((c === "state" || c === "decision") && typeof v === "string"
               && hasText(`${c}.${v}`))
        td.textContent = t(`${c}.${v}`);
      else
        td.textContent = formatValue(v);
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(thead, tbody);
  wrap.append(table);
  return wrap;
}

function drawDecisions (list) {
  const ol = $("decisions-list");
  ol.replaceChildren();
  for (const d of Array.isArray(list) ? list : []) {
    if (!d || typeof d !== "object")
      continue;
    const li = document.createElement("li");
    li.className = "decided";
    li.dataset.decision = d.decision || "";
    const head = document.createElement("p");
    head.className = "decided__head";
    const what = document.createElement("strong");
    setKnown(what, "decision." + d.decision, d.decision || "—");
    head.append(what, " · ", el("span", null, "decisions.by"), " ", raw("span", "decided__by", d.by));
    if (d.role)
      head.append(" (", hasText("role." + d.role) ? el("span", null, "role." + d.role)
        : raw("span", null, d.role), ")");
    if (d.at)
      head.append(" · ", timeEl(d.at));
    li.append(head);
    if (d.comment)
      li.append(raw("p", "decided__comment", d.comment));
    ol.append(li);
  }
  $("decisions-none").hidden = ol.children.length > 0;
}

// ------------------------------------------------------------ deciding

function drawDecide (r) {
  const open = OPEN_STATES.has(r.state);
  $("decide-part").hidden = !open;
  const closed = $("decide-closed");
  if (open) {
    clearText(closed);
    closed.hidden = true;
    const second = r.state === "awaiting_second_approval";
    const me = whoami();
    const mine = second && me && (r.decisions || []).some((d) =>
      d && d.by === me && d.decision === "approve");
    const fe = $("decide-four-eyes");
    setText(fe, mine ? "decide.four_eyes_mine" : "decide.four_eyes");
    fe.hidden = !second;
    // Only what this person may do: the second approval is an admin's,
    // and never the first approver's.
    const noApprove = second && (mine || myRole() !== "admin");
    $("decide-approve-choice").hidden = noApprove;
    if (noApprove)
      $("decide-approve").checked = false;
    const note = $("decide-approve-note");
    if (noApprove)
      setText(note, mine ? "decide.approve_not_twice" : "decide.approve_needs_admin");
    else
      clearText(note);
    note.hidden = !noApprove;
  } else {
    setText(closed, "decide.closed", { state: hasText("state." + r.state)
      ? t("state." + r.state) : String(r.state || "—") });
    closed.hidden = false;
  }
  setText($("decide-reject-hint"), r.kind === "identity" ? "decide.reject_hint_identity"
    : "decide.reject_hint");
  syncChoice();
}

function hideDecideError () {
  const p = $("decide-error");
  clearText(p);
  p.hidden = true;
}

function showDecideError (key, params) {
  const p = $("decide-error");
  setText(p, key, params);
  p.hidden = false;
}

function resetForm () {
  const form = $("decide-form");
  form.reset();
  clearFieldErrors(form);
  hideDecideError();
  syncChoice();
}

// The address can be blocklisted only with a reject; the button says what
// it will do.
function syncChoice () {
  const choice = chosen();
  // Only a phone's rejection blocklists anything, and it asks to confirm.
  const blocklists = choice === "reject" && Boolean(shown) && shown.kind === "device";
  $("blocklist-field").hidden = !blocklists;
  $("confirm-field").hidden = !blocklists;
  if (!blocklists) {
    $("decide-blocklist").checked = false;
    $("decide-confirm").checked = false;
  }
  setText($("decide-submit-label"), choice === "approve" ? "decide.submit_approve"
    : choice === "reject" ? "decide.submit_reject"
      : choice === "ask" ? "decide.submit_ask" : "decide.submit");
  // "Ask": the comment is the message the applicant reads.
  setText($("decide-comment-label"), choice === "ask" ? "decide.ask_message" : "decide.comment");
  setText($("decide-comment-hint"), choice === "ask" ? "decide.ask_message_hint"
    : "decide.comment_hint");
}

function chosen () {
  const r = document.querySelector("#decide-form input[name=decision]:checked");
  return r ? r.value : null;
}

async function onDecide (ev) {
  ev.preventDefault();
  if (submitting || !shown)
    return;
  const form = $("decide-form");
  hideBanner();
  hideNotice();
  hideDecideError();
  clearFieldErrors(form);
  const decision = chosen();
  const comment = $("decide-comment").value.trim();
  const errors = [];
  if (!decision)
    errors.push(["decide-choice", "err.choose_decision",
                 $("decide-approve-choice").hidden ? "decide-reject" : "decide-approve"]);
  if (decision === "reject" && !$("confirm-field").hidden && !$("decide-confirm").checked)
    errors.push(["decide-confirm", "decide.err.confirm", "decide-confirm"]);
  if (!comment)
    errors.push(["decide-comment", decision === "ask" ? "decide.err.message"
      : "err.comment_required", "decide-comment"]);
  if (errors.length) {
    for (const [id, key] of errors)
      setFieldError(id, key);
    $(errors[0][2]).focus();
    return;
  }
  const body = { decision, comment };
  if (decision === "reject")
    body.blocklist_address = $("decide-blocklist").checked;
  const id = shown.id;
  submitting = true;
  setBusy($("decide-submit"), $("decide-submit-label"), true, "decide.submit", "decide.sending");
  try {
    const r = await api("POST", paths.decision(id), body);
    const state = (r && r.state) || "";
    resetForm();
    const key = { approved: "decide.done_approved",
                  awaiting_second_approval: "decide.done_first",
                  rejected: shown && shown.kind === "identity" ? "decide.done_rejected_identity"
                    : "decide.done_rejected" }[state] || "decide.done";
    const asked = decision === "ask";
    showNotice(asked ? "decide.done_asked" : key, { state }, { focus: true });
    await showReview(id, { keep: true });
    findNext(id);
  } catch (e) {
    decideError(e, id);
  } finally {
    submitting = false;
    setBusy($("decide-submit"), $("decide-submit-label"), false, "decide.submit", "decide.sending");
    syncChoice();
  }
}

function decideError (e, id) {
  if (!(e instanceof ApiError)) {
    handleError(e);
    return;
  }
  if (e.status === 400 && e.field === "comment") {
    setFieldError("decide-comment", "err.comment_required");
    $("decide-comment").focus();
    return;
  }
  // A refusal is said next to the form, where the reviewer looks.
  const second = shown && shown.state === "awaiting_second_approval";
  if (e.status === 409 && e.code === "conflict" && second) {
    // Four eyes: the first approver cannot be the second.
    showDecideError("decide.forbidden_second");
    return;
  }
  if (e.status === 409) {
    // Someone decided meanwhile (or the enrolment moved on): show where
    // it stands now, keeping what was typed.
    showDecideError("decide.conflict");
    showReview(id, { keep: true });
    return;
  }
  if (e.status === 403 && !/csrf/i.test(e.code)) {
    showDecideError(second ? "decide.forbidden_second_role" : "decide.forbidden");
    return;
  }
  handleError(e);
}

export function initReview (getUsername, getRole) {
  whoami = getUsername;
  myRole = getRole || (() => null);
  $("assign-take").addEventListener("click", () => onAssign(false));
  $("assign-release").addEventListener("click", () => onAssign(true));
  $("decide-form").addEventListener("submit", onDecide);
  for (const r of document.querySelectorAll("#decide-form input[name=decision]"))
    r.addEventListener("change", syncChoice);
}

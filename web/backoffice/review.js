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
                    "signals-body", "quiet-body", "raw-signals", "identity-reasons", "checks-body", "history-body",
                    "decisions-list"])
    $(id).replaceChildren();
  clearText($("risk-line"));
  clearText($("review-attach"));
  $("review-attach").hidden = true;
  for (const id of ["applicant-part", "device-part", "identity-part", "history-part", "decide-part",
                    "decide-closed"])
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
    ["review.score", scoreBadge(typeof r.score === "number" ? r.score : risk.score)],
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
  const reasons = Array.isArray(r.reasons) && r.reasons.length ? r.reasons
    : (risk.reasons || (r.identity && r.identity.reasons) || []);
  const n = fillReasons($("review-reasons"), reasons, true);
  $("review-no-reasons").hidden = n > 0;

  drawApplicant(r.applicant);
  drawDevice(r.device);
  drawIdentity(r.identity);
  drawHistory(r.history);
  drawDecisions(r.decisions);
  drawDecide(r);
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

function drawApplicant (a) {
  const part = $("applicant-part");
  if (!a || typeof a !== "object") {
    part.hidden = true;
    return;
  }
  const pairs = [];
  const done = new Set();
  for (const [k, label] of APPLICANT_FACTS) {
    if (a[k] === undefined)
      continue;
    done.add(k);
    pairs.push([label, a[k]]);
  }
  for (const [k, v] of Object.entries(a))
    if (!done.has(k) && (v === null || typeof v !== "object"))
      pairs.push([k, v]);
  fillFacts($("applicant-facts"), pairs);
  part.hidden = pairs.length === 0;
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
    const rest = Object.entries(c).filter(([k]) => k !== "check" && k !== "result");
    const det = document.createElement("td");
    det.textContent = rest.length
      ? rest.map(([k, v]) => `${k}: ${formatValue(v)}`).join(" · ") : "—";
    tr.append(th, res, det);
    body.append(tr);
  }
  $("checks-table").hidden = body.children.length === 0;
}

// history: an object of lists ({"devices": […], "enrolments": […]}), or a
// list.  Each list becomes a table whose columns are its objects' keys.
function drawHistory (h) {
  const part = $("history-part");
  const box = $("history-body");
  box.replaceChildren();
  if (!h || typeof h !== "object") {
    part.hidden = true;
    return;
  }
  part.hidden = false;
  const groups = Array.isArray(h) ? [["history.events", h]] : Object.entries(h);
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
  } else {
    setText(closed, "decide.closed", { state: hasText("state." + r.state)
      ? t("state." + r.state) : String(r.state || "—") });
    closed.hidden = false;
  }
  syncChoice();
}

function resetForm () {
  const form = $("decide-form");
  form.reset();
  clearFieldErrors(form);
  syncChoice();
}

// The address can be blocklisted only with a reject; the button says what
// it will do.
function syncChoice () {
  const choice = chosen();
  const blk = $("blocklist-field");
  blk.hidden = choice !== "reject";
  if (choice !== "reject")
    $("decide-blocklist").checked = false;
  setText($("decide-submit-label"), choice === "approve" ? "decide.submit_approve"
    : choice === "reject" ? "decide.submit_reject" : "decide.submit");
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
  clearFieldErrors(form);
  const decision = chosen();
  const comment = $("decide-comment").value.trim();
  const errors = [];
  if (!decision)
    errors.push(["decide-choice", "err.choose_decision", "decide-approve"]);
  if (!comment)
    errors.push(["decide-comment", "err.comment_required", "decide-comment"]);
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
                  rejected: "decide.done_rejected" }[state] || "decide.done";
    showNotice(key, { state }, { focus: true });
    await showReview(id, { keep: true });
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
  const second = shown && shown.state === "awaiting_second_approval";
  if (e.status === 409 && e.code === "conflict" && second) {
    // Four eyes: the first approver cannot be the second.
    showBanner("decide.forbidden_second");
    return;
  }
  if (e.status === 409) {
    // Someone decided meanwhile (or the enrolment moved on): show where
    // it stands now, keeping what was typed.
    showBanner("decide.conflict");
    showReview(id, { keep: true });
    return;
  }
  if (e.status === 403 && !/csrf/i.test(e.code)) {
    showBanner(second ? "decide.forbidden_second_role" : "decide.forbidden");
    return;
  }
  handleError(e);
}

export function initReview (getUsername) {
  whoami = getUsername;
  $("decide-form").addEventListener("submit", onDecide);
  for (const r of document.querySelectorAll("#decide-form input[name=decision]"))
    r.addEventListener("change", syncChoice);
}

// SPDX-License-Identifier: AGPL-3.0-or-later
//
// outbox.js -- #/outbox?state=failed|pending|sent : what Guichet has to
// send and how it went (GET /v1/admin/outbox): e-mails and webhook events,
// newest first, with the attempts made and the last error.  A message or
// event given up ("failed") can be sent again (POST .../retry, audited);
// one whose link was erased cannot, and the server says so.
//
// Staff see who a message went to, its kind and its delivery, never what
// it said: the server does not send bodies, links or codes here.

import { api, paths } from "./api.js";
import { $, announce, current, handleError, showNotice, showView } from "./frame.js";
import { el, hasText, raw, setText, t, timeEl } from "./text.js";
import { code } from "./widgets.js";

const STATES = ["failed", "pending", "sent"];
let last = null;      // { state, data }
let goTo = null;

function cell (labelKey, ...content) {
  const td = document.createElement("td");
  td.dataset.i18nAttr = `data-label:${labelKey}`;
  td.setAttribute("data-label", t(labelKey));
  td.append(...content);
  return td;
}

function known (prefix, value) {
  const key = `${prefix}.${value}`;
  return value && hasText(key) ? el("span", null, key) : code(value || "—");
}

function when (x) {
  return timeEl(x.sent_at || x.delivered_at || x.failed_at || x.next_attempt_at || x.created_at);
}

function retryButton (id) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "btn btn--secondary btn--small";
  b.dataset.testid = "outbox-retry";
  b.dataset.id = id;
  setText(b, "outbox.retry");
  b.addEventListener("click", () => retry(id, b));
  return b;
}

function messageRow (m, state) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "outbox-message";
  tr.dataset.id = m.id;
  tr.append(cell("outbox.col_kind", known("message_kind", m.kind)),
            cell("outbox.col_to", raw("span", null, m.recipient || "—")),
            cell("outbox.col_attempts", raw("span", null, m.attempts)),
            cell("outbox.col_error", raw("span", "details", m.last_error || "—")),
            cell("outbox.col_when", when(m)),
            cell("outbox.col_action", state === "failed" ? retryButton(m.id) : raw("span", null, "")));
  return tr;
}

function eventRow (e, state) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "outbox-event";
  tr.dataset.id = e.id;
  const err = e.last_error || (e.last_status ? `HTTP ${e.last_status}` : "—");
  tr.append(cell("outbox.col_kind", code(e.type)),
            cell("outbox.col_to", raw("span", null, e.relying_party || "—")),
            cell("outbox.col_attempts", raw("span", null, e.attempts)),
            cell("outbox.col_error", raw("span", "details", err)),
            cell("outbox.col_when", when(e)),
            cell("outbox.col_action", state === "failed" ? retryButton(e.id) : raw("span", null, "")));
  return tr;
}

function draw (state, data) {
  for (const s of STATES) {
    const a = $("outbox-state-" + s);
    if (s === state)
      a.setAttribute("aria-current", "true");
    else
      a.removeAttribute("aria-current");
  }
  const messages = Array.isArray(data.messages) ? data.messages : [];
  const events = Array.isArray(data.events) ? data.events : [];
  $("outbox-messages-body").replaceChildren(...messages.map((m) => messageRow(m, state)));
  $("outbox-events-body").replaceChildren(...events.map((e) => eventRow(e, state)));
  $("outbox-messages-table").hidden = messages.length === 0;
  $("outbox-events-table").hidden = events.length === 0;
  $("outbox-messages-empty").hidden = messages.length > 0;
  $("outbox-events-empty").hidden = events.length > 0;
  setText($("outbox-summary"), "outbox.summary." + state,
          { messages: messages.length, events: events.length });
}

async function retry (id, button) {
  button.disabled = true;
  try {
    await api("POST", paths.outboxRetry(id), {});
    showNotice("outbox.retried", { id });
    goTo("#/outbox?state=failed", { focus: false, keepNotice: true });
  } catch (e) {
    button.disabled = false;
    handleError(e);
  }
}

export async function showOutbox (query, opts = {}) {
  const seq = current.seq;
  const state = STATES.includes(query.get("state")) ? query.get("state") : "failed";
  showView("outbox", opts);
  current.redraw = () => last && draw(last.state, last.data);
  setText($("outbox-summary"), "outbox.loading");
  try {
    const data = await api("GET", paths.outbox({ state }));
    if (seq !== current.seq)
      return;
    last = { state, data: data || {} };
    draw(state, last.data);
    announce("outbox.summary." + state, { messages: (data.messages || []).length,
                                          events: (data.events || []).length });
  } catch (e) {
    if (seq !== current.seq)
      return;
    if (e.status === 403 && !/csrf/i.test(e.code)) {
      showView("forbidden", opts);
      return;
    }
    handleError(e);
  }
}

export function initOutbox (go) {
  goTo = go;
}

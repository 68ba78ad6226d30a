"""The dashboard's pages beyond the front page: one revision (validation, plan as a diff, apply result
action by action with task logs, events, a rollback button) and one pull-request review.

Used by `gitops.api.app`. Server-rendered HTML with every value escaped; the only script is
`ACTIONS_JS`, inline (nothing from a CDN, no build step): it asks for the API token once per browser
session (kept in sessionStorage, never in a cookie or URL), confirms anything destructive, posts to
the API and shows the answer; and `LIVE_JS`, which follows the live event stream (`gitops.api.live`)
and swaps the parts of the page that changed. Pages are narrow-screen friendly (viewport meta; tables
scroll sideways, each focusable so the keyboard scrolls it too).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from gitops.store import EventRecord, RevisionRecord

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1em auto;max-width:70em;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;display:block;overflow-x:auto}td,th{padding:.3em .8em;"
    "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}pre{background:#f6f8fa;padding:.6em;"
    "overflow-x:auto}.add{color:#176f2c}.del{color:#b00020}.applied,.ok,.in_sync,.success{color:#176f2c}"
    ".failed,.rejected,.failure,.error,.drifted,.missing{color:#b00020}.pending,.rolled_back,.skipped{color:#a65e00}"
    "button{font-size:1em;padding:.4em .9em;margin:.2em}#result{margin:.6em 0;font-weight:600}"
    ".destroy{color:#b00020;font-weight:700}.warning{color:#a65e00}"
)

ACTIONS_JS = """
const KEY = 'phoenix-api-token';
function token(ask) {
  let t = sessionStorage.getItem(KEY);
  if (!t || ask) {
    t = window.prompt('API token (kept in this browser tab only)') || '';
    if (t) sessionStorage.setItem(KEY, t);
  }
  return t;
}
async function act(path, body, confirmText) {
  const out = document.getElementById('result');
  if (confirmText && !window.confirm(confirmText)) { out.textContent = 'cancelled'; return; }
  const t = token(false);
  if (!t) { out.textContent = 'no token given: nothing was sent'; return; }
  out.textContent = 'sending...';
  const answer = await fetch(path, {method: 'POST', headers: {'Authorization': 'Bearer ' + t,
    'Content-Type': 'application/json'}, body: JSON.stringify(body || {})});
  let data = {};
  try { data = await answer.json(); } catch (e) { data = {}; }
  if (answer.status === 401 || answer.status === 403) {
    sessionStorage.removeItem(KEY);
    out.className = 'failed';
    out.textContent = 'refused: ' + (data.detail || answer.status) + ' (the token was forgotten; try again)';
    return;
  }
  out.className = answer.ok ? 'ok' : 'failed';
  out.textContent = (answer.ok ? 'accepted: ' : 'failed: ') + JSON.stringify(answer.ok ? data : (data.detail || data));
}
document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-path]');
  if (!b) return;
  const body = b.dataset.body ? JSON.parse(b.dataset.body) : {};
  if (b.dataset.restore && document.getElementById(b.dataset.restore).checked) body.restore_data = true;
  const confirmText = body.restore_data ? b.dataset.confirmData : b.dataset.confirm;
  act(b.dataset.path, body, confirmText);
});
"""


LIVE_JS = """
(() => {
  // Live updates: the server's event stream (GET /api/v1/live, fed by the ledger's events) says when
  // something changed; the page then fetches itself once and swaps the parts named in <body data-live>.
  // EventSource reconnects by itself and resumes after the last event id it saw (Last-Event-ID).
  const ids = (document.body.dataset.live || '').split(' ').filter(Boolean);
  const badge = document.getElementById('live');
  if (!ids.length || !window.EventSource) return;
  let timer = null, busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fetch(window.location.pathname + window.location.search, {headers: {'Accept': 'text/html'}});
      if (answer.ok) {
        const fresh = new DOMParser().parseFromString(await answer.text(), 'text/html');
        for (const id of ids) {
          const now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next && now.innerHTML !== next.innerHTML) now.innerHTML = next.innerHTML;
        }
        document.dispatchEvent(new CustomEvent('phoenix:refreshed'));
      }
    } catch (e) { /* the controller restarting: the stream reconnects and asks again */ }
    busy = false;
    if (again) { again = false; refresh(); }
  }
  function soon() { clearTimeout(timer); timer = setTimeout(refresh, 30); }
  const after = document.body.dataset.after;
  const source = new EventSource('/api/v1/live' + (after ? '?after=' + encodeURIComponent(after) : ''));
  for (const kind of ['ledger', 'state', 'reset']) source.addEventListener(kind, soon);
  source.onopen = () => { if (badge) { badge.textContent = 'live'; badge.className = 'ok'; } };
  source.onerror = () => { if (badge) { badge.textContent = 'reconnecting'; badge.className = 'pending'; } };
})();
"""


def page(title: str, body: str, *, live: tuple[str, ...] = ()) -> str:
    """A page; `live` names the elements the live script swaps when the ledger changes."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body{live_attributes(live)}>"
        f"<p><a href='/'>Phoenix GitOps</a>{LIVE_BADGE if live else ''}</p>{body}<div id='result' role='status'></div>"
        f"<script>{ACTIONS_JS}{LIVE_JS if live else ''}</script></body></html>"
    )


LIVE_BADGE = " <span id='live' class='pending'>connecting</span>"


def live_attributes(live: tuple[str, ...], after: int | None = None) -> str:
    """The body's attributes for the live script: what it swaps, and the event id the page was rendered at."""
    if not live:
        return ""
    start = f" data-after='{after}'" if after is not None else ""
    return f" data-live='{escape(' '.join(live))}'{start}"


def button(label: str, path: str, *, body: dict[str, Any] | None = None, confirm: str = "",
           confirm_data: str = "", restore: str = "", ident: str = "") -> str:
    attrs = [f"data-path='{escape(path)}'"]
    if body:
        attrs.append(f"data-body='{escape(json.dumps(body))}'")
    if confirm:
        attrs.append(f"data-confirm='{escape(confirm)}'")
    if confirm_data:
        attrs.append(f"data-confirm-data='{escape(confirm_data)}'")
    if restore:
        attrs.append(f"data-restore='{escape(restore)}'")
    if ident:
        attrs.append(f"id='{escape(ident)}'")
    return f"<button type='button' {' '.join(attrs)}>{escape(label)}</button>"


def _value(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value)


def problems_html(validation: Any) -> str:
    if not isinstance(validation, dict):
        return "<p>No validation was recorded.</p>"
    items = [(p, "error") for p in validation.get("errors") or []] + [
        (p, "warning") for p in validation.get("warnings") or []]
    if not items:
        return "<p class='ok'>Valid, no warnings.</p>"
    rows = "".join(
        f"<tr><td class='{'failed' if level == 'error' else 'pending'}'>{level}</td>"
        f"<td><code>{escape(str(p.get('file', '')))}:{escape(str(p.get('line', '')))}:"
        f"{escape(str(p.get('column', '')))}</code></td><td><code>{escape(str(p.get('path', '')))}</code></td>"
        f"<td>{escape(str(p.get('message', '')))} <code>[{escape(str(p.get('code', '')))}]</code></td></tr>"
        for p, level in items if isinstance(p, dict))
    return (f"<table id='problems' tabindex='0'><tr><th></th><th>where</th><th>path</th><th>problem</th></tr>"
            f"{rows}</table>")


def plan_html(plan: Any) -> str:
    if not isinstance(plan, dict):
        return "<p>No plan was recorded.</p>"
    actions = [a for a in plan.get("actions") or [] if isinstance(a, dict)]
    out = []
    if not actions:
        out.append("<p>No changes.</p>")
    for i, a in enumerate(actions, 1):
        flags = (" <span class='destroy'>DESTROYS DATA</span>" if a.get("destructive") else "") + (
            " (restart required)" if a.get("restart_required") else "")
        lines = []
        for c in a.get("changes") or []:
            if not isinstance(c, dict):
                continue
            field = escape(str(c.get("field", "")))
            if c.get("old") is not None:
                lines.append(f"<span class='del'>- {field}: {escape(_value(c.get('old')))}</span>")
            if c.get("new") is not None:
                lines.append(f"<span class='add'>+ {field}: {escape(_value(c.get('new')))}</span>")
        diff = "<pre tabindex='0'>" + "\n".join(lines) + "</pre>" if lines else ""
        out.append(f"<h3>{i}. <code>{escape(str(a.get('target', '')))}</code> {escape(str(a.get('action', '')))}"
                   f"{flags}</h3><p>{escape(str(a.get('summary', '')))}</p>{diff}")
    for p in plan.get("errors") or []:
        if isinstance(p, dict):
            out.append(f"<p class='failed'>error <code>{escape(str(p.get('target', '')))}</code>: "
                       f"{escape(str(p.get('message', '')))} [{escape(str(p.get('code', '')))}]</p>")
    for p in plan.get("warnings") or []:
        if isinstance(p, dict):
            out.append(f"<p class='pending'>warning <code>{escape(str(p.get('target', '')))}</code>: "
                       f"{escape(str(p.get('message', '')))}</p>")
    return "<div id='plan'>" + "".join(out) + "</div>"


def result_html(result: Any) -> str:
    applied = result.get("apply") if isinstance(result, dict) else None
    if not isinstance(applied, dict):
        return "<p>Nothing was applied.</p>"
    rows = []
    for o in applied.get("outcomes") or []:
        if not isinstance(o, dict):
            continue
        log = "\n".join(str(line) for line in o.get("log") or [])
        tasks = "<br>".join(f"<code>{escape(str(u))}</code>" for u in o.get("upids") or [])
        shown_log = f"<pre tabindex='0'>{escape(log)}</pre>" if log else ""
        rows.append(
            f"<tr><td><code>{escape(str(o.get('target', '')))}</code></td><td>{escape(str(o.get('action', '')))}</td>"
            f"<td class='{escape(str(o.get('status', '')))}'>{escape(str(o.get('status', '')))}</td>"
            f"<td>{float(o.get('duration') or 0):.1f}s</td><td>{escape(str(o.get('error') or ''))}"
            f"{shown_log}</td><td>{tasks}</td></tr>")
    state = "ok" if applied.get("ok") else "failed"
    return (f"<p class='{state}'>apply {'succeeded' if applied.get('ok') else 'failed'} in "
            f"{float(applied.get('duration') or 0):.1f}s</p><table id='outcomes' tabindex='0'>"
            "<tr><th>target</th><th>action</th>"
            f"<th>status</th><th>took</th><th>error / task log</th><th>tasks</th></tr>{''.join(rows)}</table>")


def revision_page(record: RevisionRecord, events: list[EventRecord]) -> str:
    facts = [("status", f"<span class='{escape(record.status)}'>{escape(record.status)}</span>"),
             ("message", escape(record.message)), ("author", escape(record.author)),
             ("received", escape(record.received_at.isoformat())),
             ("finished", escape(record.finished_at.isoformat()) if record.finished_at else "-"),
             ("error", escape(record.error or "-"))]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    rollback = ""
    if record.status != "rejected":
        short = record.short_sha
        rollback = (
            "<h2>Roll back</h2><p><label><input type='checkbox' id='restore-data'> also restore the guests' "
            "pre-apply snapshots (data written since is lost)</label></p>"
            + button(f"Roll back to {short}", "/api/v1/rollback", body={"revision": record.sha},
                     confirm=f"Converge the estate to {short} and pin it there?",
                     confirm_data=f"DATA ROLLBACK to {short}: the guests' disks go back to their pre-apply "
                                  "snapshots and everything written since is LOST. Continue?",
                     restore="restore-data", ident="rollback"))
    timeline = "".join(
        f"<tr><td>{escape(e.at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td class='{escape(e.level)}'>{escape(e.kind)}"
        f"</td><td>{escape(e.message)}</td></tr>" for e in events)
    body = (f"<h1>Revision <code>{escape(record.short_sha)}</code></h1><table id='facts' tabindex='0'>{table}</table>"
            f"<div id='checks'><h2>Validation</h2>{problems_html(record.validation)}<h2>Plan</h2>"
            f"{plan_html(record.plan)}<h2>Apply result</h2>{result_html(record.result)}</div>{rollback}"
            f"<h2>Events</h2><table id='events' tabindex='0'>{timeline}</table>")
    return page(f"Phoenix GitOps: {record.short_sha}", body, live=("facts", "checks", "events"))


def review_page(event: EventRecord) -> str:
    data = event.data if isinstance(event.data, dict) else {}
    state = str(data.get("state", ""))
    head = str(data.get("head_sha", ""))[:12]
    facts = [("pull request", f"{escape(str(data.get('repo', '')))} #{escape(str(data.get('number', '')))}"),
             ("state", f"<span class='{escape(state)}'>{escape(state)}</span>"),
             ("planned against", escape(str(data.get("against", "")))),
             ("reviewed", escape(event.at.isoformat())), ("error", escape(str(data.get("error") or "-")))]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    body = (f"<h1>Pull-request review <code>{escape(head)}</code></h1><table id='facts' tabindex='0'>{table}</table>"
            "<p>Planned read-only: nothing in a pull request is applied.</p>"
            f"<h2>Validation</h2>{problems_html(data.get('validation'))}<h2>Plan</h2>{plan_html(data.get('plan'))}")
    return page(f"Phoenix GitOps review {head}", body)


def login_page(target: str, *, refused: bool = False) -> str:
    """Reads need a token here (PHOENIX_API_READ_TOKEN): a form that trades it for a session cookie."""
    note = "<p class='failed' id='refused'>That token was refused.</p>" if refused else ""
    body = ("<h1>Phoenix GitOps</h1><p>This controller requires a token to read (the read token or the "
            f"write token).</p>{note}<form method='post' action='/login'>"
            f"<input type='hidden' name='next' value='{escape(target)}'>"
            "<label>Token <input type='password' name='token' id='token' autocomplete='current-password' required>"
            "</label> <button type='submit' id='login'>Open</button></form>")
    return page("Phoenix GitOps: token needed", body)

"""The dashboard at `GET /`: the status, the latest revisions (each linking to its page), the latest runs
(applies, rollbacks, drift corrections), the resources with their sync state, the events timeline, and
buttons to sync, suspend and resume (the script of `pages`, inline).

Used by `gitops.api.app`. Every value is escaped; every table follows the live event stream
(`gitops.api.live`): when the ledger changes the page is fetched again and its tables swapped, so a shown
result stays.
"""

from __future__ import annotations

from html import escape

from gitops.api import pages
from gitops.store import ControllerState, EventRecord, RevisionRecord, RunRecord

LIVE = ("status", "revisions", "runs", "resources", "events")  # what follows the live event stream
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}"
    ".applied,.in_sync{color:#176f2c}.drifted,.missing{color:#b00020}.pending{color:#a65e00}.failed,.rejected{color:#b00020}.rolled_back,.not-corrected,.interrupted{color:#a65e00}code{font-size:.95em}"
)


def render(state: ControllerState, revisions: list[RevisionRecord], runs: list[RunRecord] | None = None,
           events: list[EventRecord] | None = None) -> str:
    def sha(value: str | None) -> str:
        return f"<code>{escape(value[:12])}</code>" if value else "-"

    facts = [
        ("applied", sha(state.applied_revision)), ("target", sha(state.target_revision)),
        ("phase", escape(state.phase)), ("suspended", "yes" if state.suspended else "no"),
        ("pinned", sha(state.pinned_revision)), ("drift", "yes" if state.drift else "no"),
        ("leader", escape(state.leader_id or "-")), ("last error", escape(state.last_error or "-")),
    ]
    rows = "".join(
        f"<tr><td><a href='/revisions/{escape(r.sha)}'>{sha(r.sha)}</a></td>"
        f"<td class='{escape(r.status)}'>{escape(r.status)}</td>"
        f"<td>{escape(r.message.splitlines()[0] if r.message else '')}</td><td>{escape(r.author)}</td>"
        f"<td>{escape(r.received_at.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{escape((r.error or '')[:160])}</td></tr>"
        for r in revisions
    )
    status = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    run_rows = "".join(
        f"<tr><td>{sha(r.revision)}</td><td>{escape(r.kind)}</td><td class='{escape(r.status)}'>{escape(r.status)}</td>"
        f"<td>{escape(r.started_at.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{escape(', '.join(_drifted(r)))}</td><td>{escape((r.error or '')[:160])}</td></tr>"
        for r in runs or []
    )
    report = state.drift_report
    resources = "".join(
        f"<tr><td><code>{escape(r.target)}</code></td>"
        f"<td class='{escape(r.state)}'>{escape(r.state)}</td>"
        f"<td>{escape('; '.join(r.actions))}</td></tr>"
        for r in (report.resources if report is not None else [])
    )
    timeline = "".join(
        f"<tr><td>{escape(e.at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td class='{escape(e.level)}'>{escape(e.kind)}</td>"
        f"<td>{sha(e.revision)}</td><td>{escape(e.message[:200])}</td></tr>" for e in events or [])
    controls = "".join((
        pages.button("Sync now", "/api/v1/sync", ident="sync"),
        pages.button("Suspend", "/api/v1/suspend", ident="suspend",
                     confirm="Suspend automatic applies? New commits are recorded but not applied until resumed."),
        pages.button("Resume", "/api/v1/resume", ident="resume"),
    ))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        f"<title>Phoenix GitOps</title><style>{STYLE}{pages.STYLE}</style></head>"
        f"<body{pages.live_attributes(LIVE, max((e.id for e in events or []), default=0))}>"
        f"<h1>Phoenix GitOps</h1><p>{pages.LIVE_BADGE}</p>"
        f"<table id='status' tabindex='0'>{status}</table><p id='controls'>{controls}</p>"
        "<div id='result' role='status'></div>"
        "<h2>Revisions</h2><table id='revisions' tabindex='0'>"
        "<tr><th>sha</th><th>status</th><th>message</th><th>author</th><th>received</th><th>error</th></tr>"
        f"{rows}</table><h2>Runs</h2><table id='runs' tabindex='0'>"
        "<tr><th>revision</th><th>kind</th><th>status</th><th>started</th><th>drift</th><th>error</th></tr>"
        f"{run_rows}</table><h2>Resources</h2><table id='resources' tabindex='0'>"
        "<tr><th>target</th><th>state</th><th>what a sync would do</th></tr>"
        f"{resources}</table><h2>Events</h2><table id='events' tabindex='0'>"
        "<tr><th>at</th><th>kind</th><th>revision</th><th>message</th></tr>"
        f"{timeline}</table><p><a href='/docs'>API</a> · <a href='/metrics'>metrics</a></p>"
        f"<script>{pages.ACTIONS_JS}{pages.LIVE_JS}</script></body></html>"
    )


def _drifted(run: RunRecord) -> list[str]:
    drift = run.result.get("drift") if isinstance(run.result, dict) else None
    return [str(t) for t in drift] if isinstance(drift, list) else []

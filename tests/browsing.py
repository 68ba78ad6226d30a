"""What the browser tests share: Debian's Chromium launched by Playwright, and an accessibility check of a
page with axe-core 4.10.2 (vendored in tests/data/axe-core, injected into the page; nothing downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
AXE = Path(__file__).resolve().parent / "data" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.10.2"
BLOCKING = ("serious", "critical")
# true once the dashboard's revisions table shows the revision (its short sha is the argument) as applied
APPLIED_ROW = """(sha) => [...document.querySelectorAll('#revisions tr')].some(
    (row) => row.innerText.includes(sha) && row.querySelector('td.applied'))"""


def axe_violations(page: Any) -> list[str]:
    """The page's axe-core violations of serious or critical impact, one line each (rule, impact, where)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated by the driver, not added as a script tag: the pages' Content-Security-Policy allows no
        # inline script, and the test keeps that policy on (no bypass)
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    assert page.evaluate("axe.version") == AXE_VERSION
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}" for v in found
            if v["impact"] in BLOCKING]


def field_row(page: Any, name: str) -> list[str]:
    """The cells of a resource page's row for field `name` (desired, live, differs), stripped."""
    row = page.locator("#fields tr", has=page.locator(f"th code:text-is('{name}')"))
    return [c.strip() for c in row.locator("td").all_inner_texts()]


# the estate page's dependencies, as `needer>needed`: those its shown boxes list (between shown boxes), and
# the lines drawn (`static/estate.js`); the highlighted lines
NEEDS_SHOWN = """() => { const shown = new Set([...document.querySelectorAll('#graph li.box')].filter(
    (b) => b.getClientRects().length).map((b) => b.dataset.target));
  return [...shown].flatMap((t) => (document.querySelector(`#graph li.box[data-target="${t}"]`).dataset.needs || '')
    .split(' ').filter((n) => shown.has(n)).map((n) => t + '>' + n)).sort(); }"""
LINES_DRAWN = """(selector) => [...document.querySelectorAll('#edges ' + selector)].map(
    (p) => p.dataset.from + '>' + p.dataset.to).sort()"""


def lines_settled(page: Any, selector: str = "path.edge", timeout: float = 5000) -> list[str]:
    """The estate page's lines matching `selector`, read once every need between shown boxes has its line.

    The page redraws its lines on the animation frame after a filter changes or a live update swaps the
    graph, so a read right after either can see the old lines or none: this waits for the drawing to agree
    with the boxes, and reads in the same evaluation."""
    settled = page.wait_for_function(
        f"""(selector) => {{ const drawn = ({LINES_DRAWN})('path.edge');
            return JSON.stringify(drawn) === JSON.stringify(({NEEDS_SHOWN})()) && ({LINES_DRAWN})(selector); }}""",
        arg=selector, timeout=timeout)
    return list(settled.json_value())

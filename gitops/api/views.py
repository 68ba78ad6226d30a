"""The dashboard's pages, rendered from the Jinja2 templates in `gitops/api/templates` (autoescaped: a
value is escaped unless a template says otherwise, and none does).

Used by `gitops.api.routes.pages`. `render(name, **values)` renders one page; the templates extend
`base.html` and share the macros of `macros.html` (buttons, problems, plans, apply results). The style
and the only scripts are files in `gitops/api/static` (nothing from a CDN, no build step, no inline
script): `actions.js` asks for the API token once per browser session (kept in sessionStorage, never in
a cookie or URL), confirms anything destructive, posts to the API and shows the answer; `live.js`
follows the live event stream (`GET /api/v1/live`) and swaps the parts of a page that changed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

# Pages allow only this controller's own script files, styles and forms: an inline script or handler that
# an escaping slip let in does not run. `data:` is the empty favicon; 'unsafe-eval' lets a browser driver
# (Playwright in the tests) evaluate its own expressions: the pages' scripts never call eval.
CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self' 'unsafe-eval'; style-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _shown(value: Any) -> str:
    """A changed value in a plan's diff: text as it is, anything else as JSON, nothing as `(none)`."""
    if value is None or value == "":
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


ENV = Environment(loader=PackageLoader("gitops.api", "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(when=_when, shown=_shown, number=_number)


def render(name: str, **values: Any) -> str:
    """The page of template `name` with `values`."""
    return ENV.get_template(name).render(**values)

"""A notification as plain data, and how it reads: a title, a body, a JSON document.

Pure. `scrubbed` replaces every known secret value (settings and secret files, collected by the
caller) by `(secret)` with the project's one redaction function, so even an error message that
quoted one never carries it out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from gitops.config.secretrefs import scrub

SEVERITY = {"error": "failure", "warning": "warning", "info": "info"}
SUCCESS_KINDS = frozenset({"applied", "self-heal", "healed", "rolled_back", "rollback"})


@dataclass(frozen=True, slots=True)
class Notification:
    event_id: int
    kind: str
    level: str
    message: str
    at: dt.datetime
    revision: str | None = None
    url: str | None = None  # the revision page, when the controller knows its public URL
    data: dict[str, Any] | None = None  # the event's typed payload (gitops.events), as JSON

    @property
    def severity(self) -> str:
        """Apprise's notify type: success, failure, warning or info."""
        if self.level == "info" and self.kind in SUCCESS_KINDS:
            return "success"
        return SEVERITY.get(self.level, "info")

    @property
    def title(self) -> str:
        rev = f" {self.revision[:12]}" if self.revision else ""
        return f"Phoenix GitOps: {self.kind}{rev}"

    @property
    def body(self) -> str:
        return self.message + (f"\n{self.url}" if self.url else "")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.event_id, "kind": self.kind, "level": self.level, "severity": self.severity,
                "message": self.message, "revision": self.revision, "at": self.at.isoformat(), "url": self.url,
                "data": self.data}

    def scrubbed(self, secrets: Iterable[str]) -> Notification:
        values = list(secrets)
        data = json.loads(scrub(json.dumps(self.data), values)) if self.data is not None else None
        return replace(self, message=scrub(self.message, values), url=scrub(self.url, values) if self.url else None,
                       data=data)

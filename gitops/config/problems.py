"""Problems found in a config: an error or warning with its file, line, column, JSON path and code.

Made by `gitops.config.loading` and the checks in `gitops.config.checks`; printed by the CLI.
Codes are stable: tests, CI annotations and users' scripts rely on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
PathPart = str | int


MAX_MESSAGE = 500  # characters of a message; a committed 5 MB value must not be echoed into ledgers and logs


def shorten(value: str, limit: int = 80) -> str:
    """`value` cut to `limit` characters, saying how much was left out (for values echoed in messages)."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}...({len(value) - limit} more characters)"


def dotted(path: tuple[PathPart, ...]) -> str:
    """`("lxc_configs", "101", "cores")` -> `lxc_configs.101.cores`."""
    return ".".join(str(p) for p in path)


@dataclass
class Problem:
    severity: Severity
    file: str
    path: tuple[PathPart, ...]
    code: str
    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        path = dotted(self.path)
        return f"{where}: {path}: {self.message}" if path else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = dotted(self.path)
        del data["severity"]
        return data


@dataclass
class Report:
    """All problems of one config directory."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, file: str, path: tuple[PathPart, ...], code: str, message: str) -> None:
        self.problems.append(Problem("error", file, _short_path(path), code, shorten(message, MAX_MESSAGE)))

    def warning(self, file: str, path: tuple[PathPart, ...], code: str, message: str) -> None:
        self.problems.append(Problem("warning", file, _short_path(path), code, shorten(message, MAX_MESSAGE)))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def _short_path(path: tuple[PathPart, ...]) -> tuple[PathPart, ...]:
    """A JSON path whose keys are cut to a readable length (a key can be a committed 5 MB string)."""
    if all(isinstance(p, int) or len(p) <= 200 for p in path):
        return path
    return tuple(p if isinstance(p, int) else shorten(p, 200) for p in path)

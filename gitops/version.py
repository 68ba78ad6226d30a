"""The installed version of phoenix-gitops, from its package metadata (pyproject.toml is the one source).

Read by `phoenix-gitops --version`, the API's `/api/v1/status` and OpenAPI document, and the
`phoenix_build_info` metric. A source tree that was never installed reports `0+unknown`.
"""

from __future__ import annotations

import platform
from functools import cache

DISTRIBUTION = "phoenix-gitops"
UNKNOWN = "0+unknown"


@cache
def version() -> str:
    """The version of the installed distribution, e.g. `0.1.0`."""
    from importlib import metadata  # slow to import: only when a version is asked for

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def build_info() -> dict[str, str]:
    """What a bug report needs: this package's version and the Python it runs on."""
    return {"version": version(), "python": platform.python_version()}

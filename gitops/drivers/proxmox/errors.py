"""The one boundary where proxmoxer and requests exceptions become `gitops.errors` types.

Called by `connection.ProxmoxClient.request` (every API call goes through it) and by `tasks` for task
exit statuses. The mapping, by what the caller should do next:

    requests ConnectionError, Timeout      -> TransientError   (host down, network trouble)
    requests SSLError                      -> PermanentError   (the CA or verify setting is wrong)
    proxmoxer AuthenticationError, 401     -> AuthenticationError
    400 and other 4xx                      -> PermanentError   (with PVE's per-field `errors`)
    403                                    -> PermanentError   (permission denied)
    5xx                                    -> TransientError, unless the message says retrying is
                                              useless (`can't shrink`, `does not exist`, ...)
    any message naming a lock or a timeout -> TransientError   (`VM is locked`, `can't lock file`,
                                              `got timeout`), whatever its status
"""

from __future__ import annotations

import re
from typing import Any

import requests
from proxmoxer import AuthenticationError as ProxmoxerAuthError
from proxmoxer import ResourceException

from gitops import errors

# Messages that name a condition which goes away by itself: a held lock, a timeout, lost quorum.
_TRANSIENT = re.compile(
    r"got timeout|is locked|can't lock file|lock.*timeout|no quorum|cluster not ready|"
    r"temporarily|try again|connection (refused|reset|timed out)|no route to host",
    re.IGNORECASE,
)
# 5xx messages (PVE answers many input errors with 500) that the same request will hit again.
_PERMANENT = re.compile(
    r"shrink|does not exist|already exists|already running|already at specified size|protection mode|"
    r"permission|not allowed|only allowed|only root|unable to (parse|delete|modify|use|create)|invalid|"
    r"you can't|can't convert|cannot (add|access|use)|not supported|not implemented|no such|unknown|"
    r"does not support|does not allow|not configured for content|missing|read-only|is not |bigger than|"
    r"no storage id|parameter verification|can't |cannot |not set|requires|must be set|already used|"
    r"still in use|no options specified|is disabled|only compatible|could not|couldn't|unable to find|"
    r"does not look|too old|has to be defined",
    re.IGNORECASE,
)


def is_transient_message(message: str) -> bool:
    """True if a PVE message (an API error or a task exit status) names a lock, a timeout or lost quorum."""
    return bool(_TRANSIENT.search(message))


def field_errors(raw: Any) -> str:
    """PVE's per-field `errors` object as `field: message; field: message` (empty when there is none)."""
    if not isinstance(raw, dict):
        return ""
    return "; ".join(f"{key}: {str(value).strip()}" for key, value in sorted(raw.items()))


def translate(
    exc: BaseException, *, what: str, host: str = "", target: str | None = None,
) -> errors.DriverError:
    """The project's error for a library exception raised while doing `what` (e.g. `GET nodes/pve/lxc`)."""
    if isinstance(exc, errors.DriverError):
        return exc
    where = f" on {host}" if host else ""
    if isinstance(exc, ProxmoxerAuthError):
        return errors.AuthenticationError(f"{what}: authentication failed{where}", target=target)
    if isinstance(exc, requests.exceptions.SSLError):
        return errors.PermanentError(
            f"{what}: TLS verification failed{where} (set PHOENIX_PVE_VERIFY_SSL to the CA bundle): "
            f"{_first_line(exc)}",
            target=target,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return errors.TransientError(f"{what}: no answer{where} in time", target=target)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return errors.TransientError(f"{what}: cannot reach the Proxmox API{where}: {_os_reason(exc)}",
                                     target=target)
    if isinstance(exc, ResourceException):
        return _from_status(exc, what=what, target=target)
    if isinstance(exc, requests.exceptions.RequestException):
        return errors.TransientError(f"{what}: {_first_line(exc)}", target=target)
    return errors.PermanentError(f"{what}: {type(exc).__name__}: {_first_line(exc)}", target=target)


def _from_status(exc: ResourceException, *, what: str, target: str | None) -> errors.DriverError:
    status = int(exc.status_code)
    text = str(exc.content or exc.status_message or "").strip()
    details = field_errors(exc.errors)
    message = f"{what}: {status} {text}" + (f" ({details})" if details else "")
    if status == 401:
        return errors.AuthenticationError(message, target=target)
    if is_transient_message(text):
        return errors.TransientError(message, target=target)
    if status >= 500 and not _PERMANENT.search(text):
        return errors.TransientError(message, target=target)
    return errors.PermanentError(message, target=target)


def _os_reason(exc: BaseException) -> str:
    """`[Errno 111] Connection refused` out of urllib3's long wrapped message, when it is there."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0).strip() if found else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

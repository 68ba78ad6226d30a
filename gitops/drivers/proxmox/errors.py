"""The one boundary where proxmoxer and requests exceptions become `gitops.errors` types.

Called by `connection.ProxmoxClient.request` (every API call goes through it) and by `tasks` for task
exit statuses. The mapping, by what the caller should do next:

    requests ConnectionError, Timeout      -> TransientError   (host down, network trouble)
    requests SSLError                      -> PermanentError   (the CA or verify setting is wrong)
    proxmoxer AuthenticationError, 401     -> AuthenticationError
    400, 403 and other 4xx, 501            -> PermanentError   (with PVE's per-field `errors`)
    502-504, 595, 596                      -> TransientError   (pveproxy cannot reach the node)
    500 with one of PVE's lock, timeout    -> TransientError   (`CT 101 is locked (backup)`,
        or quorum messages                                      `can't lock file '...' - got timeout`)
    500 with PVE's digest refusal          -> StaleError       (the config changed since it was read)
    500 with one of PVE's exact messages   -> PermanentError   (`shrinking disks is not supported`,
        for a request that fails again                          `storage 'x' does not exist`, ...)
    any other 500                          -> TransientError   (worth another try later)

Messages are matched whole, as PVE's sources word them (`_TRANSIENT_MESSAGES`, `_PERMANENT_MESSAGES`),
never by fragments such as `is not` or `missing`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import requests
from proxmoxer import AuthenticationError as ProxmoxerAuthError
from proxmoxer import ResourceException

from gitops import errors

# The decision is by status code first, then by PVE's exact messages (templates as PVE's sources word
# them, `{...}` standing for a value), never by fragments of words:
#   401 -> AuthenticationError; 4xx and 501 -> PermanentError; 595/596 (pveproxy lost the node) -> Transient;
#   500/503 -> TransientError when the message is one of _TRANSIENT_MESSAGES (a held lock, a timeout, lost
#   quorum), PermanentError when it is one of _PERMANENT_MESSAGES (the same request fails again), and
#   TransientError for any other server error (worth one more try later; the plan does not change).
_TRANSIENT_MESSAGES = (
    "{guest} is locked ({lock})",
    "can't lock file '{file}' - got timeout",
    "got timeout",
    "cluster not ready - no quorum?",
    "no quorum",
    "No route to host",
    "hostname lookup '{node}' failed - {reason}",
    "storage '{storage}' is not online",
    "connection check for storage '{storage}' failed - {error}",
    "Lost 'create' config lock, aborting.",
    "failed to open container {vmid}'s command socket: {error}",
    "unexpected state change",
    "container did not stop",
    "Connection refused",
    "Connection reset by peer",
    "Connection timed out",
)
_PERMANENT_MESSAGES = (
    "{what} already exists{more}",
    "CT {vmid} already running",
    "VM {vmid} already running",
    "Configuration file '{file}' does not exist",
    "unable to find configuration file for {type} {vmid} on node '{node}'",
    "storage '{storage}' does not exist",
    "storage '{storage}' is disabled",
    "storage '{storage}' is not available on node '{node}'",
    "storage '{storage}' does not allow content type '{content}' ({what})",
    "storage ID '{storage}' already defined",
    "no storage ID specified{more}",
    "volume '{volid}' does not exist",
    "volume '{volid}' - {reason}",
    "bridge '{bridge}' does not exist",
    "disk '{disk}' does not exist",
    "disk '{disk}' has no associated volume",
    "disk is already at specified size",
    "shrinking disks is not supported",
    "unable to shrink disk size",
    "invalid size{more}",
    "resize file/device '{volid}' is not possible",
    "you can't resize a cdrom",
    "can't resize mount point owned by another container ({owner})",
    "{what} - protection mode enabled",
    "unable to remove CT {vmid} - used in HA resources and purge parameter not set.",
    "you can't convert a CT to template if the CT is running",
    "you can't convert a template to a template",
    "you can't start a CT if it's a template",
    "you can't take a snapshot if it's a template",
    "unable to create template, because CT contains snapshots",
    "snapshot feature is not available",
    "snapshot '{snapname}' does not exist",
    "snapshot name '{snapname}' already used",
    "unable to use snapshot name '{snapname}' (reserved name)",
    "Template feature is not available for '{volid}'",
    "Quotas are not supported by unprivileged containers.",
    "can't clone to non-shared storage '{storage}'",
    "can't overwrite running container",
    "base volume '{volid}' is still in use by linked clone{more}",
    "unable to delete '{volid}' - volume is still in use (snapshot?)",
    "unable to delete read-only option: '{opt}'",
    "unable to delete required option '{opt}'",
    "unable to modify read-only option: '{opt}'",
    "unable to parse volume ID '{volid}'",
    "unable to parse format for import volume '{volid}'",
    "unable to use volume {volid} - content type needs to be '{type}'",
    "missing '{key}' configuration",
    "missing privileges to access {volid}",
    "no options specified",
    "only root can {what}",
    "Only root can pass arbitrary filesystem paths.",
    "balloon value too large (must be smaller than assigned memory)",
    "{key}: MTU size '{mtu}' is bigger than bridge MTU '{bridge_mtu}'",
    "{key}: SLAAC is not supported for host-managed network configuration{more}",
    "'mknod' feature requested, but kernel too old (found {kernel}, required >= 5.3)",
    "Method '{method} {path}' not implemented",
    # templates and downloads (`POST nodes/{node}/aplinfo`, `.../download-url`)
    "no such template",
    "unknown template type '{type}'",
    "storage '{storage}' does not support templates",
    "storage '{storage}' is not configured for content-type '{content}'",
    "can't upload to storage type '{type}', not a file based storage!",
    "can't find file '{volid}'",
    # storages (`POST storage`, `PUT storage/{id}`)
    "no such option '{key}'",
    "unable to delete fixed option '{key}'",
    "cannot set and delete property '{key}' at the same time!",
    # VMs, clones, templates
    "you can't convert a VM to template if VM is running",
    "unable to create template, because VM contains snapshots",
    "you can't start a vm if it's a template",
    "unable to create VM {vmid}: config file already exists",
    "can't clone VM to node '{node}' (VM uses local storage)",
    "parameter '{name}' not allowed for linked clones",
    "cannot change TPM state version after creation",
    "invalid bootorder: device '{dev}' does not exist'",
    "either 'host' or 'mapping' must be set.",
    # firewall and snapshots
    "no rule at position {pos}",
    "detected mixed ipv4/ipv6 addresses in rule",
    "you can't rollback if vm is a template",
    "you can't delete a snapshot if vm is a template",
    "unable to rollback vm {vmid}: vm is running",
    "VM {vmid} not running",
)


def _template(text: str) -> str:
    """A message template as a regex: the words exactly, `{name}` any value (within the message)."""
    parts = re.split(r"\{[a-z_]+\}", text)
    return "(?:.*?)".join(re.escape(part) for part in parts)


@functools.cache
def _compile(templates: tuple[str, ...]) -> re.Pattern[str]:
    # Compiled on first use (an error), not at import: the patterns take tens of ms to build, and `plan` start-up
    # needs none of them.
    # PVE prefixes a message with what failed (`update VM 101: `, `unable to create CT 101 - `) and ends
    # it with a newline: a template matches the whole message, or its end after such a prefix.
    return re.compile(r"(?:^|: | - )(?:" + "|".join(_template(t) for t in templates) + r")\s*$", re.DOTALL)


# The config changed since the digest a write carries was read (PVE::Tools::assert_if_modified for
# containers and most config files; qemu-server's own wording for VMs): re-read and re-plan, never resend.
_STALE_MESSAGES = (
    "detected modified configuration - file changed by other user? Try again.",
    "checksum mismatch (file change by other user?)",
    "checksum missmatch (file change by other user?)",
)
PERMANENT_STATUSES = frozenset({400, 403, 404, 405, 406, 409, 410, 411, 412, 413, 414, 415, 422, 501})
TRANSIENT_STATUSES = frozenset({502, 503, 504, 595, 596})


def is_transient_message(message: str) -> bool:
    """True if a PVE message (an API error or a task exit status) is one of its lock, timeout or quorum
    messages: the same request may succeed later."""
    return bool(_compile(_TRANSIENT_MESSAGES).search(message.strip()))


def is_permanent_message(message: str) -> bool:
    """True if a PVE server-error message is one the same request hits again (`_PERMANENT_MESSAGES`)."""
    return bool(_compile(_PERMANENT_MESSAGES).search(message.strip()))


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
    if status in PERMANENT_STATUSES or 400 <= status < 500:
        return errors.PermanentError(message, target=target)
    if _compile(_STALE_MESSAGES).search(text):
        return errors.StaleError(message, target=target)
    if status in TRANSIENT_STATUSES or is_transient_message(text):
        return errors.TransientError(message, target=target)
    if is_permanent_message(text):
        return errors.PermanentError(message, target=target)
    return errors.TransientError(message, target=target)


def _os_reason(exc: BaseException) -> str:
    """`[Errno 111] Connection refused` out of urllib3's long wrapped message, when it is there."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0).strip() if found else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

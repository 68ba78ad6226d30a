"""The project's error types; every layer raises these, drivers translate library errors into them.

    PhoenixError
    +-- ConfigError            a config directory cannot be read (missing file, broken JSON)
    +-- SettingsError          settings are missing or contradictory
    +-- DriverError            talking to Proxmox or Portainer failed
    |   +-- TransientError     worth retrying: connection refused, 5xx, lock timeouts, `got timeout`
    |   +-- PermanentError     retrying is useless: 4xx parameter errors, `can't shrink`, no permission
    |       +-- AuthenticationError   wrong credentials or token
    |       +-- ConflictError         a name is taken (Portainer's 409) by something we did not make
    |       +-- StaleError            the target changed since it was read (PVE refused the config digest)
    |       +-- TaskFailedError       a UPID task ended in something other than OK / WARNINGS
    +-- SourceError            the config repository cannot be cloned, fetched or read
    +-- StoreError             the ledger database cannot be reached or migrated
    +-- NotFoundError          a guest, stack or revision that does not exist was asked for
    +-- Yielded                a drift check's sweep stopped to let waiting work go first (not retried)

Callers decide what to do by type, as kopf does with PermanentError and TemporaryError.
"""

from __future__ import annotations


class PhoenixError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(PhoenixError):
    """A config directory cannot be read at all (as opposed to a config that reads but is invalid)."""


class SettingsError(PhoenixError):
    """Settings are missing or contradict each other."""


class DriverError(PhoenixError):
    """Talking to an external system (Proxmox, Portainer) failed."""

    def __init__(self, message: str, *, target: str | None = None, transient: bool | None = None) -> None:
        super().__init__(message)
        self.target = target
        # Whether the failure may go away by itself (worth a later reconcile). A transient error always is;
        # a driver may say so of a permanent one too (a task that failed on a lock changed nothing).
        self.transient = isinstance(self, TransientError) if transient is None else transient


class TransientError(DriverError):
    """A failure that may go away if the same call is tried again later."""


class PermanentError(DriverError):
    """A failure that the same call will hit again: fix the input or the permissions."""


class AuthenticationError(PermanentError):
    """The credentials or the API token were refused."""


class ConflictError(PermanentError):
    """A create was refused because the name is taken (Portainer answers 409), and what holds it is not ours."""


class StaleError(PermanentError):
    """A write was refused because the target changed since the plan read it (PVE: the config `digest` the
    write carried is not the config's any more). Sending it again is useless; reading the target again and
    planning it again is what to do (`transient`: a later reconcile does exactly that)."""

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message, target=target, transient=True)


class TaskFailedError(PermanentError):
    """A system's task (a Proxmox UPID) ended with an error status; `transient` when it failed on a lock or
    timeout (nothing changed, so running it again later may succeed)."""

    def __init__(self, message: str, *, target: str | None = None, upid: str = "",
                 exitstatus: str = "", log: list[str] | None = None, transient: bool = False) -> None:
        super().__init__(message, target=target, transient=transient)
        self.upid = upid
        self.exitstatus = exitstatus
        self.log = log or []


class SourceError(PhoenixError):
    """The config repository cannot be cloned, fetched or read."""

    code = "source-error"


class FileTooLargeError(SourceError):
    """A file the controller reads is larger than `PHOENIX_GIT_MAX_FILE_BYTES`: the revision is rejected."""

    code = "file-too-large"


class StoreError(PhoenixError):
    """The ledger database cannot be reached or migrated."""


class NotFoundError(PhoenixError):
    """Something asked for by id does not exist."""


class Yielded(PhoenixError):
    """The drift check's full read (the sweep) stopped between two requests because other work waits (a push,
    a sync, a rollback): that work goes first, the drift check runs again after it. Never retried."""

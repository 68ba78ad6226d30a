"""Which ledger schemas this version can use: older ones are upgraded, a newer one is refused.

Called by `gitops.store.database.migrate` before it upgrades, and by `schema_status` for
`phoenix-gitops check`. A ledger written by a newer phoenix-gitops (its Alembic revision is not one
this version ships) is never touched: downgrading the program must not corrupt or half-migrate it.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from gitops import errors, version


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a ledger's schema stands against this version's migrations."""

    current: str | None  # None: an empty database (no schema yet)
    head: str
    known: bool  # `current` is one of this version's revisions (or None)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.current is None:
            return f"empty: the schema ({self.head}) is created at start"
        if not self.known:
            return f"schema {self.current} is newer than this phoenix-gitops ({version.version()}, schema {self.head})"
        if self.up_to_date:
            return f"schema {self.head} (current)"
        return f"schema {self.current}: upgraded to {self.head} at start"


def schema_status(connection: Connection, config: Config) -> SchemaStatus:
    """The ledger's Alembic revision compared with the newest this version ships."""
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head() or "base"
    current = MigrationContext.configure(connection).get_current_revision()
    known = current is None or current in {rev.revision for rev in script.walk_revisions()}
    return SchemaStatus(current=current, head=head, known=known)


def inspect_ledger(url: str, instance: str = "default") -> SchemaStatus:
    """Connect to the ledger of `instance` at `url` and read its schema status, changing nothing (for `check`)."""
    from gitops.store import database  # database imports this module

    engine = database.make_engine(url, instance)
    try:
        with engine.connect() as connection:
            return schema_status(connection, database.alembic_config())
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise errors.StoreError(
            f"cannot reach the ledger at {database.redacted(url)}: {detail[0] if detail else type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()


def refuse_newer(connection: Connection, config: Config, where: str) -> SchemaStatus:
    """The ledger's schema status; StoreError when a newer phoenix-gitops wrote it."""
    status = schema_status(connection, config)
    if not status.known:
        raise errors.StoreError(
            f"the ledger at {where} has schema {status.current}, which is newer than this phoenix-gitops "
            f"({version.version()}, newest schema {status.head}) knows: it was written by a newer version. "
            "Run that version (or a newer one) again, or point this one at a fresh database and "
            "`phoenix-gitops ledger import` a backup exported before the upgrade. The ledger was not changed."
        )
    return status

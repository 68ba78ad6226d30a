"""Alembic environment of the ledger; run by `gitops.store.database.migrate`, which passes its connection.

Without a passed connection (a developer running `alembic` by hand with `-x url=...`), it makes an
engine of its own from that URL.
"""

from __future__ import annotations

from alembic import context

from gitops.store import database, tables

target_metadata = tables.Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
            "sqlalchemy.url"
        )
        if not url:
            raise RuntimeError("no connection passed and no URL given (-x url=...)")
        engine = database.make_engine(url)
        with engine.begin() as own_connection:
            _run(own_connection)
        engine.dispose()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

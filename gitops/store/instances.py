"""Instances: several controllers (one per Proxmox cluster) sharing one database, each with its own ledger.

An instance name (`PHOENIX_INSTANCE`, default `default`) keys everything a controller keeps:

- PostgreSQL: a schema per instance. Instance `default` keeps the tables where they always were (the
  connection's own search path, `public` as a rule), so a ledger made before instances existed is used
  as it is, with no data migration. Any other instance `NAME` lives in the schema `phoenix_NAME`
  (hyphens become underscores), created at first start; its connections have `search_path` set to that
  schema alone, so an unqualified table name can only ever reach that instance's rows.
- SQLite: a file per instance. `default` uses the configured file; `NAME` uses `STEM.NAME.SUFFIX`
  beside it (`phoenix.db` -> `phoenix.prod-eu.db`). The leader's `flock` file follows the database file.
- The leader lock: the advisory-lock key `phoenix-gitops` (default) or `phoenix-gitops/NAME`.

Why schemas rather than an `instance` column on every table: the isolation is the database's, not each
query's (no query can forget its filter and show one cluster's history to another), every query, unique
key and foreign key stays as it is, an instance is exported, imported, granted to its own role or
dropped as one schema, and the default instance is the previous layout unchanged.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL

from gitops.settings import INSTANCE_NAME, INSTANCE_RULE

DEFAULT = "default"
LEADER_KEY = "phoenix-gitops"
SCHEMA_PREFIX = "phoenix_"


def check_name(name: str) -> str:
    """`name` if it is a valid instance name; ValueError naming the rule otherwise."""
    if not INSTANCE_NAME.match(name):
        raise ValueError(f"invalid instance name {name!r}: {INSTANCE_RULE}")
    return name


def schema(name: str) -> str | None:
    """The PostgreSQL schema of instance `name`; None for the default instance (the connection's own)."""
    check_name(name)
    return None if name == DEFAULT else SCHEMA_PREFIX + name.replace("-", "_")


def leader_key(name: str) -> str:
    """The leader lock's key: one leader per instance, whatever else shares the database."""
    check_name(name)
    return LEADER_KEY if name == DEFAULT else f"{LEADER_KEY}/{name}"


def sqlite_file(url: URL, name: str) -> URL:
    """The SQLite URL of instance `name`: the file itself for the default instance, `STEM.NAME.SUFFIX` beside it
    otherwise. An in-memory database is private to its process already and stays as it is."""
    check_name(name)
    database = url.database
    if name == DEFAULT or database in (None, "", ":memory:") or database.startswith("file:"):
        return url
    path = Path(database)
    return url.set(database=str(path.with_name(f"{path.stem}.{name}{path.suffix or '.db'}")))


def describe(name: str) -> str:
    """For messages: `instance NAME`, or nothing for the default one."""
    return "" if name == DEFAULT else f" (instance {name})"

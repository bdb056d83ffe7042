"""The PostgreSQL journal's tables, created and versioned by runbook, and its errors.

Everything lives in the `runbook` schema of the database the URL names. Events and runs
are append-only there too: triggers refuse UPDATE, DELETE and TRUNCATE, so a hand-run
`psql` session cannot quietly rewrite history (and `verify` catches a hand-edited row).
`data` is the canonical JSON as text: PostgreSQL's binary JSON type would reorder keys and
break the hash.
`meta.schema_version` lets an older runbook refuse a newer schema instead of misreading it.
"""

from __future__ import annotations

from typing import Any

from runbook.errors import JournalError
from runbook.journal._open import hide_password
from runbook.journal._pg_claims import CREATE as CREATE_CLAIMS, MIGRATE as MIGRATE_CLAIMS
from runbook.journal._pg_lease import CREATE as CREATE_ENGINES

# 2: engines and step claims replace the one lease per run; 3: hosts are claimed too
SCHEMA_VERSION = 3
# One transaction-scoped advisory lock serialises two first runs creating the schema.
_CREATE_LOCK = 0x72756E626F6F6B  # "runbook"

_DDL = (
    "CREATE SCHEMA IF NOT EXISTS runbook",
    "CREATE TABLE IF NOT EXISTS runbook.meta (key text PRIMARY KEY, value text NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runbook.runs (
        run_id text PRIMARY KEY,
        playbook text NOT NULL,
        mode text NOT NULL,
        created text NOT NULL,
        created_ts double precision NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS runbook.events (
        run_id text NOT NULL REFERENCES runbook.runs(run_id),
        seq bigint NOT NULL,
        ts text NOT NULL,
        type text NOT NULL,
        step text,
        host text,
        data text NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (run_id, seq)
    )""",
    "CREATE INDEX IF NOT EXISTS events_type ON runbook.events (run_id, type)",
    "DROP TABLE IF EXISTS runbook.leases",
    CREATE_ENGINES,
    CREATE_CLAIMS,
    *MIGRATE_CLAIMS,
    """CREATE OR REPLACE FUNCTION runbook.append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'journal % are append-only', TG_TABLE_NAME;
        END $$""",
    *(
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
        f"ON runbook.{table} FOR EACH ROW EXECUTE FUNCTION runbook.append_only()"
        for table in ("events", "runs")
    ),
    *(
        f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
        f"ON runbook.{table} FOR EACH STATEMENT EXECUTE FUNCTION runbook.append_only()"
        for table in ("events", "runs")
    ),
)


def stored_version(conn: Any) -> int:
    """The schema's version (0: not created yet)."""
    row = conn.execute("SELECT to_regclass('runbook.meta') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    row = conn.execute("SELECT value FROM runbook.meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def ensure_schema(conn: Any, label: str) -> None:
    """Check the database (UTF8, our version or none) and create the schema when missing.

    Reading commands create it too: an empty database then answers "no runs yet".
    """
    encoding = conn.execute("SHOW server_encoding").fetchone()[0]
    if str(encoding).upper() not in ("UTF8", "UTF-8"):
        raise JournalError(
            f"the database {label} is {encoding}; the journal needs a UTF8 database "
            f"(CREATE DATABASE … ENCODING 'UTF8')"
        )
    version = stored_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"the journal {label} was written by a newer runbook (schema {version}; "
            f"this runbook knows {SCHEMA_VERSION}); upgrade runbook to read it"
        )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CREATE_LOCK,))
        if stored_version(conn) == SCHEMA_VERSION:
            return
        for statement in _DDL:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO runbook.meta (key, value) VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (str(SCHEMA_VERSION),),
        )


def pg_error(err: Exception, label: str, doing: str) -> JournalError:
    """One clear error for a database that is unreachable, refuses us or fails a statement."""
    why = hide_password(" ".join(str(err).split()) or type(err).__name__)
    if "append-only" in why:
        return JournalError(f"cannot {doing} the journal {label}: {why}")
    return JournalError(
        f"cannot {doing} the journal {label}: {why} (is the database up and reachable? "
        f"a run in progress stays resumable: nothing journaled is lost)"
    )

"""The tables of `PostgresStore` (created on first open, under an advisory lock)."""

from __future__ import annotations

from typing import Final

__all__ = ["DDL", "DDL_LOCK", "POSTGRES_SCHEMA_VERSION"]

#: The table layout this code creates and reads.
POSTGRES_SCHEMA_VERSION: Final = 1

#: The advisory lock key held while creating the tables (any constant; "tick" in ASCII).
DDL_LOCK: Final = 0x7469636B

#: Every table of every group (``CREATE ... IF NOT EXISTS``: run at each open).
DDL: Final = """
CREATE TABLE IF NOT EXISTS tickwork_meta (
    grp text PRIMARY KEY,
    schema_version integer NOT NULL,
    high_water bigint NOT NULL,
    partitions integer NOT NULL
);
CREATE TABLE IF NOT EXISTS tickwork_partitions (
    grp text NOT NULL,
    part integer NOT NULL,
    owner text,
    epoch bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (grp, part)
);
CREATE TABLE IF NOT EXISTS tickwork_members (
    grp text NOT NULL,
    member text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (grp, member)
);
ALTER TABLE tickwork_members ADD COLUMN IF NOT EXISTS stats bytea;
CREATE TABLE IF NOT EXISTS tickwork_counters (
    grp text NOT NULL,
    key text NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (grp, key)
);
CREATE TABLE IF NOT EXISTS tickwork_commands (
    grp text NOT NULL,
    seq bigserial,
    sid bigint NOT NULL,
    op text NOT NULL,
    payload bytea NOT NULL,
    result boolean,
    done_at timestamptz,
    PRIMARY KEY (grp, seq)
);
-- The commands not yet applied (read by their owner at each heartbeat; the done ones stay).
CREATE INDEX IF NOT EXISTS tickwork_commands_pending ON tickwork_commands (grp, sid) WHERE done_at IS NULL;
CREATE TABLE IF NOT EXISTS tickwork_cancelled (
    grp text NOT NULL,
    sid bigint NOT NULL,
    PRIMARY KEY (grp, sid)
);
CREATE TABLE IF NOT EXISTS tickwork_claims (
    grp text NOT NULL,
    sid bigint NOT NULL,
    grid_us bigint NOT NULL,
    epoch bigint NOT NULL,
    attempt integer NOT NULL,
    member text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz,
    PRIMARY KEY (grp, sid, grid_us)
);
CREATE TABLE IF NOT EXISTS tickwork_schedules (
    grp text NOT NULL,
    id bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (grp, id)
);
"""

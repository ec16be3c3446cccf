"""The syncer's lease: one row in `index_lease`, so exactly one process at a time keeps the index current.

A process takes the lease when it is free, expired or already its own, and renews it every third of
its lifetime; a holder that dies (kill -9, a lost host) stops renewing and another process takes over
once the lease expires. Times are epoch seconds from each host's clock, so hosts sharing a PostgreSQL
index need NTP (a clock running seconds ahead would take a live holder's lease early).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from . import tables

NAME = "syncer"


class LeaseLost(Exception):
    """Another process holds the lease now: stop writing (its syncer carries on)."""


def new_holder() -> str:
    """host:pid:random — readable in the status, unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    holder: str
    expires_at: float
    acquired_at: float

    def alive(self, now: float) -> bool:
        return bool(self.holder) and self.expires_at > now


class Lease:
    """Take, renew, check and release the one syncer lease on `engine`."""

    def __init__(self, engine: Engine, holder: str | None = None, seconds: float = 5.0) -> None:
        self.engine = engine
        self.holder = holder or new_holder()
        self.seconds = seconds

    def acquire(self) -> bool:
        """Take or renew the lease; False when another live process holds it."""
        now = time.time()
        with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(
                dialect.insert(tables.lease)
                .values(name=NAME, holder="", expires_at=0.0, acquired_at=0.0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            c = tables.lease.c
            renewed = connection.execute(
                update(tables.lease)
                .where(c.name == NAME, c.holder == self.holder)
                .values(expires_at=now + self.seconds)
            ).rowcount
            if renewed:
                return True
            taken = connection.execute(
                update(tables.lease)
                .where(c.name == NAME, c.expires_at <= now)
                .values(holder=self.holder, expires_at=now + self.seconds, acquired_at=now)
            ).rowcount
            return bool(taken)

    def confirm(self, connection: Connection) -> None:
        """Inside a write transaction: renew the lease or raise LeaseLost (rolling the write back).

        The UPDATE locks the lease row until the transaction ends, so a process taking over
        cannot interleave its writes with this one's.
        """
        c = tables.lease.c
        kept = connection.execute(
            update(tables.lease)
            .where(c.name == NAME, c.holder == self.holder, c.expires_at > time.time())
            .values(expires_at=time.time() + self.seconds)
        ).rowcount
        if not kept:
            raise LeaseLost(self.holder)

    def release(self) -> None:
        """On a clean exit: let the next process take over at once instead of after expiry."""
        with self.engine.begin() as connection:
            connection.execute(
                update(tables.lease)
                .where(tables.lease.c.name == NAME, tables.lease.c.holder == self.holder)
                .values(holder="", expires_at=0.0)
            )


def read_lease(connection: Connection) -> LeaseInfo | None:
    row = connection.execute(select(tables.lease).where(tables.lease.c.name == NAME)).first()
    return LeaseInfo(row.holder, row.expires_at, row.acquired_at) if row else None

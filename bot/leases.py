"""Claims on shared work with leases: how long a claim lasts, and renewing it while the work goes on.

A process claims a piece of shared work (a feed to fetch) by writing its name and an expiry time in the
work's row, in one atomic UPDATE that succeeds only when the row is free, its lease has expired, or the
claim is already this process's own (a restarted process takes back what its previous life held at once,
instead of waiting for the lease). While it works it renews its leases; at the end it releases them. A
process that dies stops renewing, and its work is free again once the lease runs out.

Process names are unique in a cluster (one process per shard set, held by advisory locks), so a claim under
this process's name is either its own or its dead predecessor's. Lease times come from each process's
clock: the machines of a cluster must keep time (NTP), well within LEASE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

log = logging.getLogger(__name__)

# Long enough to outlast a slow renewal (a busy database), short enough that a dead process's feeds are
# checked again within a cycle of the feed loop.
LEASE = timedelta(seconds=30)
# Renewed this often: two renewals can fail before the lease runs out.
RENEW_EVERY = LEASE / 3


@contextlib.asynccontextmanager
async def renewing(renew: Callable[[], Awaitable[object]], every: timedelta = RENEW_EVERY) -> AsyncIterator[None]:
    """Run `renew` every `every` while the block runs (a failed renewal is logged and tried again)."""
    task = asyncio.create_task(_renew_forever(renew, every.total_seconds()))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _renew_forever(renew: Callable[[], Awaitable[object]], seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await renew()
        except Exception as error:  # the database may be briefly away; the lease outlasts a missed renewal
            log.warning("Could not renew this process's claims on shared work: %s", error)

"""How fast connections open: a bounded number of handshakes in flight, and a retry for
a server that dropped the connection before its banner.

sshd's MaxStartups (default 10:30:100) starts refusing, at random, new connections once
10 are still unauthenticated: a run that dials 1,000 hosts at once meets it on any server
that many hosts reach through (a bastion's targets, several names on one address), and on
a loaded control machine handshakes slow down until they pile up. So at most
`HANDSHAKES_IN_FLIGHT` connections are being set up at once, at most `PER_ROUTE` of them
through one route (one server address, or one jump connection), below MaxStartups' 10. A
connection dropped before the banner is what MaxStartups (or a SYN-flood guard) does: it
is tried again after a jittered, doubling pause, outside the slots so others go on.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Hashable, Iterator

HANDSHAKES_IN_FLIGHT = 64
PER_ROUTE = 8
BANNER_TRIES = 6  # the first and five retries: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s at most
BACKOFF_S = 0.2
BACKOFF_CAP_S = 3.2


class Ramp:
    """Slots for handshakes: one of `total`, and one of `per_route` for the route."""

    def __init__(self, total: int = HANDSHAKES_IN_FLIGHT, per_route: int = PER_ROUTE) -> None:
        self._total = threading.BoundedSemaphore(total)
        self._per_route = per_route
        self._lock = threading.Lock()
        self._routes: dict[Hashable, threading.BoundedSemaphore] = {}
        self.in_flight = 0  # now, and the most seen at once (for the benchmarks' reports)
        self.most_in_flight = 0

    @contextlib.contextmanager
    def slot(self, route: Hashable) -> Iterator[None]:
        """Hold a handshake slot (waits while the route or the whole run is full)."""
        with self._lock:
            per_route = self._routes.setdefault(route, threading.BoundedSemaphore(self._per_route))
        with per_route, self._total:
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                yield
            finally:
                with self._lock:
                    self.in_flight -= 1


def backoff_s(attempt: int) -> float:
    """The pause after failed attempt `attempt` (1-based): doubling, capped, jittered so
    that hosts dropped together do not come back together."""
    delay = min(BACKOFF_CAP_S, BACKOFF_S * 2.0 ** (attempt - 1))
    return delay * random.uniform(0.5, 1.0)  # spreads retries; no secret

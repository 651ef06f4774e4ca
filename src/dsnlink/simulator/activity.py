"""Requests in flight per Net-entreprises identity, and how often they overlapped.

A client that keeps to "one identity, one worker at a time" never has two requests of the
same identity in flight at once. The simulator counts, per identity, the requests that began
while another of that identity was still being answered, and the most in flight at once.
The identity of a request is the one it authenticates (authentication) or the one its token
belongs to (every other call); requests the simulator cannot attribute are not counted.
"""

from __future__ import annotations

import threading
from collections import Counter


class IdentityActivity:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._overlaps: Counter[str] = Counter()
        self._peak: Counter[str] = Counter()
        self._requests: Counter[str] = Counter()
        #: token → identity label (a token never changes hands).
        self.token_owner: dict[str, str] = {}

    def begin(self, identity: str) -> None:
        with self._lock:
            self._requests[identity] += 1
            if self._in_flight[identity] > 0:
                self._overlaps[identity] += 1
            self._in_flight[identity] += 1
            self._peak[identity] = max(self._peak[identity], self._in_flight[identity])

    def end(self, identity: str) -> None:
        with self._lock:
            self._in_flight[identity] -= 1

    def report(self) -> dict[str, dict[str, int]]:
        """Per identity label: requests, overlapping requests, most in flight at once."""
        with self._lock:
            return {
                key: {
                    "requests": self._requests[key],
                    "overlaps": self._overlaps[key],
                    "peak": self._peak[key],
                }
                for key in sorted(self._requests)
            }

    def overlaps(self) -> int:
        with self._lock:
            return sum(self._overlaps.values())

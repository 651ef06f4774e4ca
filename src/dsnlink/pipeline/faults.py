"""Kill points: places where a test can have the process killed (SIGKILL) to prove that a
crash at that exact moment loses nothing and sends nothing twice.

``DSNLINK_PIPELINE_KILL_POINTS=before_post@3,after_post`` kills the process the third time it
reaches ``before_post``, or the first time it reaches ``after_post``. Off unless set.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

#: Every kill point, in the order a deposit reaches them.
KILL_POINTS = (
    "after_intake",
    "after_claim",
    "before_post",
    "after_post",
    "after_deposited",
    "after_download",
    "after_return_stored",
)

_hits: Counter[str] = Counter()
_lock = threading.Lock()


def parse_kill_points(spec: str) -> frozenset[str]:
    return frozenset(p.strip() for p in spec.split(",") if p.strip())


def kill_point(points: frozenset[str], name: str) -> None:
    if not points:
        return
    with _lock:
        _hits[name] += 1
        count = _hits[name]
    for point in points:
        wanted, _, nth = point.partition("@")
        if wanted == name and count == (int(nth) if nth else 1):
            os.kill(os.getpid(), signal.SIGKILL)

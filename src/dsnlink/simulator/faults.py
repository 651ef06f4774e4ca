"""Fault injection: scripted (the next N requests of a route) or random with a seed, plus
maintenance windows on the simulator's clock.

A rule is consumed when it applies (``count``); rules are tried in the order they were added
and the first that applies wins. ``probability`` draws from one seeded generator, so a run
with the same seed and the same sequence of requests injects the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dsnlink.errors import InvalidInput
from dsnlink.simulator.config import ROUTES, FaultRule, MaintenanceWindow


@dataclass
class _Armed:
    id: int
    rule: FaultRule
    seen: int = 0
    applied: int = 0

    def public(self) -> dict[str, object]:
        return {"id": self.id, **self.rule.model_dump(), "seen": self.seen, "applied": self.applied}


@dataclass
class FaultPlan:
    seed: int | None = None
    _rules: list[_Armed] = field(default_factory=list)
    _maintenance: list[MaintenanceWindow] = field(default_factory=list)
    _next_id: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible faults, not crypto

    def add(self, rule: FaultRule) -> int:
        if rule.route != "*" and rule.route not in ROUTES:
            raise InvalidInput(
                f"Route inconnue pour une panne : {rule.route}.",
                remedy="Routes : * ou " + ", ".join(ROUTES) + ".",
            )
        with self._lock:
            armed = _Armed(self._next_id, rule)
            self._next_id += 1
            self._rules.append(armed)
            return armed.id

    def add_maintenance(self, window: MaintenanceWindow) -> None:
        with self._lock:
            self._maintenance.append(window)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._maintenance.clear()

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def public(self) -> dict[str, object]:
        with self._lock:
            return {
                "seed": self.seed,
                "rules": [r.public() for r in self._rules],
                "maintenance": [w.model_dump(mode="json") for w in self._maintenance],
            }

    def maintenance_status(self, route: str, now: datetime) -> int | None:
        with self._lock:
            for window in self._maintenance:
                start, end = _aware(window.start), _aware(window.end)
                if start <= now < end and ("*" in window.routes or route in window.routes):
                    return window.status
        return None

    def pick(self, route: str) -> FaultRule | None:
        """The rule applying to this request of ``route``, if any (consumes it)."""
        with self._lock:
            for armed in self._rules:
                rule = armed.rule
                if rule.route not in ("*", route):
                    continue
                if rule.count is not None and armed.applied >= rule.count:
                    continue
                armed.seen += 1
                if armed.seen <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                armed.applied += 1
                return rule
        return None


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)

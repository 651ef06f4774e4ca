"""The update feed: a JSON document giving the latest version of dsnlink (``info.version``,
as the package index publishes it), and whether it is newer than the one installed."""

from __future__ import annotations

import re

from dsnlink.connectivity import http_probe
from dsnlink.connectivity.settings import ResolvedConnection
from dsnlink.connectivity.steps import Budget, Outcome, Step, StepContext

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|rc)(\d*))?(?:\.post(\d+))?(?:\.dev(\d+))?")


def version_key(text: str) -> tuple[tuple[int, ...], int, int, int, int]:
    """Enough of PEP 440 to order this project's releases (final > rc > b > a > dev)."""
    match = _VERSION.match(text.strip())
    if not match:
        return ((0,), -1, 0, 0, 0)
    release = tuple(int(p) for p in match.group(1).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre_rank = {"a": 0, "b": 1, "rc": 2}.get(match.group(2) or "", 3)
    if match.group(5) is not None and match.group(2) is None:
        pre_rank = -1  # x.y.devN comes before x.y's pre-releases
    return (
        release,
        pre_rank,
        int(match.group(3) or 0),
        int(match.group(4) or 0),
        int(match.group(5)) if match.group(5) is not None else 1 << 30,
    )


def feed_step(connection: ResolvedConnection, feed_url: str, current: str, budget: Budget) -> Step:
    async def run(_: StepContext) -> Outcome:
        answer = await http_probe.get(connection, feed_url, timeout=budget.left(), read_body=True)
        if answer.status != 200:
            return Outcome.failure(
                f"Le flux de mise à jour {feed_url} a répondu {answer.status}.",
                "Vérifiez l'adresse du flux (« dsnlink connection set --update-feed-url »).",
                "update_feed",
            )
        payload = answer.json()
        latest = payload.get("info", {}).get("version") if isinstance(payload, dict) else None
        if not isinstance(latest, str):
            return Outcome.failure(
                "Le flux de mise à jour ne donne pas de numéro de version (clé info.version).",
                "Vérifiez l'adresse du flux de mise à jour.",
                "update_feed",
            )
        if version_key(latest) > version_key(current):
            return Outcome.ok(
                f"Une nouvelle version de dsnlink est disponible : {latest} (installée : "
                f"{current}).",
                latest=latest,
                current=current,
                newer=True,
            )
        return Outcome.ok(
            f"dsnlink est à jour ({current}).", latest=latest, current=current, newer=False
        )

    return Step("update_feed", "Flux de mise à jour", run, ("update.http",), "Mise à jour")

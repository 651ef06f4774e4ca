"""Certificate judgement and version ordering (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dsnlink.connectivity.tls_check import CertificateInfo, covers, judge
from dsnlink.connectivity.update_feed import version_key

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def cert(
    names: tuple[str, ...] = ("services.net-entreprises.fr",), days: int = 200
) -> CertificateInfo:
    return CertificateInfo(
        subject=names[0],
        issuer="Some CA",
        names=names,
        not_before=NOW - timedelta(days=10),
        not_after=NOW + timedelta(days=days),
        self_signed=False,
    )


@pytest.mark.parametrize(
    ("names", "host", "ok"),
    [
        (("a.example",), "a.example", True),
        (("*.example",), "a.example", True),
        (("*.example",), "b.a.example", False),
        (("*.example",), "example", False),
        (("A.Example.",), "a.example", True),
        (("127.0.0.1",), "127.0.0.1", True),
        (("localhost",), "127.0.0.1", False),
    ],
)
def test_covers(names: tuple[str, ...], host: str, ok: bool) -> None:
    assert covers(cert(names), host) is ok


def _judge(**kwargs: object) -> object:
    base: dict[str, object] = {
        "host": "services.net-entreprises.fr",
        "leaf": cert(),
        "verified": True,
        "verify_message": None,
        "via_proxy": False,
        "refuse_interception": False,
        "now": NOW,
    }
    base.update(kwargs)
    return judge(**base)  # type: ignore[arg-type]


def test_verdicts() -> None:
    assert _judge().status == "ok"  # type: ignore[attr-defined]
    soon = _judge(leaf=cert(days=5))
    assert soon.status == "warning" and "5 jour" in soon.detail  # type: ignore[attr-defined]
    expired = _judge(leaf=cert(days=-3), verified=False)
    assert expired.status == "failure" and "expiré" in expired.detail  # type: ignore[attr-defined]
    other = _judge(leaf=cert(("autre.example",)), verified=False)
    assert other.status == "failure" and not other.interception  # type: ignore[attr-defined]
    proxied = _judge(leaf=cert(("autre.example",)), verified=False, via_proxy=True)
    assert proxied.interception and "intercepte" in proxied.detail  # type: ignore[attr-defined]
    untrusted = _judge(verified=False, verify_message="unable to get local issuer certificate")
    assert untrusted.status == "failure" and "ca_bundle" in untrusted.remedy  # type: ignore[attr-defined]
    local = _judge(via_proxy=True, issued_by_local_ca=True)
    assert local.status == "warning" and local.interception  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("0.1.0", "0.2.0"),
        ("0.9.0", "0.10.0"),
        ("1.0rc1", "1.0"),
        ("1.0a2", "1.0b1"),
        ("1.0.dev3", "1.0a1"),
        ("1.0", "1.0.post1"),
        ("1.0", "1.0.1"),
    ],
)
def test_version_order(older: str, newer: str) -> None:
    assert version_key(older) < version_key(newer)
    assert version_key("1.0") == version_key("1.0.0")

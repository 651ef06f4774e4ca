"""The authentication step's gating: one attempt at most, none when known to fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from dsnlink.connectivity.test import IdentityUnderTest, login_state, run_connection_test
from dsnlink.errors import AccountLocked, PasswordExpired, ServiceUnavailable, WrongCredentials
from tests.integration.connectivity.conftest import connection, targets
from tests.support.netservers import HttpsServer

CANARY = "CANARY-s3cr3t-login-9931"


def identity(**changes: object) -> IdentityUnderTest:
    values: dict[str, object] = {
        "login": "Dupont",
        "siret": "73282932000074",
        "nom": "DUPONT",
        "prenom": "JEAN",
        "password": SecretStr(CANARY),
    }
    values.update(changes)
    return IdentityUnderTest(**values)  # type: ignore[arg-type]


class Recorder:
    """Stands for the portal client's one authentication call; counts the calls."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    async def __call__(self, who: IdentityUnderTest) -> None:
        self.calls.append(who.siret)
        if self.error is not None:
            raise self.error


def test_success_is_one_attempt(portal: HttpsServer, ca_bundle: Path) -> None:
    auth = Recorder()
    report = run_connection_test(
        connection(portal, ca_bundle), targets(portal), identity=identity(), authenticate=auth
    )
    assert auth.calls == ["73282932000074"]
    assert report.step("login").status.value == "ok"
    assert login_state(report) == "ok"
    assert [m.status.value for m in report.marks] == ["ok", "ok", "ok"]
    assert report.all_green
    assert CANARY not in str(report.to_dict())


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (WrongCredentials(), "wrong_credentials"),
        (PasswordExpired(), "password_expired"),
        (AccountLocked(), "locked"),
    ],
)
def test_credential_refusal_is_mapped(
    portal: HttpsServer, ca_bundle: Path, error: Exception, state: str
) -> None:
    auth = Recorder(error)
    report = run_connection_test(
        connection(portal, ca_bundle), targets(portal), identity=identity(), authenticate=auth
    )
    step = report.step("login")
    assert step.status.value == "failure"
    assert login_state(report) == state
    assert step.remedy and len(auth.calls) == 1
    assert report.marks[2].status.value == "failure"


@pytest.mark.parametrize(
    "state", ["wrong_credentials", "password_expired", "not_registered", "locked"]
)
def test_no_attempt_when_already_refused(portal: HttpsServer, ca_bundle: Path, state: str) -> None:
    auth = Recorder()
    report = run_connection_test(
        connection(portal, ca_bundle),
        targets(portal),
        identity=identity(state=state),
        authenticate=auth,
    )
    step = report.step("login")
    assert auth.calls == []
    assert step.status.value == "failure"
    assert step.detail.startswith("Aucun essai fait")
    assert "blocage" in step.detail
    assert login_state(report) is None  # nothing new to record
    assert report.context["authentication_attempts"] == 0


def test_no_attempt_while_the_linter_finds_errors(portal: HttpsServer, ca_bundle: Path) -> None:
    auth = Recorder()
    report = run_connection_test(
        connection(portal, ca_bundle),
        targets(portal),
        identity=identity(nom="DUPONT\n"),
        authenticate=auth,
    )
    assert auth.calls == []
    assert report.step("lint").status.value == "failure"
    assert "«DUPONT↵»" in report.step("lint").detail
    assert report.step("login").status.value == "skipped"


def test_service_down_is_not_a_credential_state(portal: HttpsServer, ca_bundle: Path) -> None:
    auth = Recorder(ServiceUnavailable())
    report = run_connection_test(
        connection(portal, ca_bundle), targets(portal), identity=identity(), authenticate=auth
    )
    assert report.step("login").code == "portal.unavailable"
    assert login_state(report) is None


def test_export_has_no_secret(portal: HttpsServer, ca_bundle: Path, tmp_path: Path) -> None:
    conn = connection(
        portal,
        ca_bundle,
        type="proxy",
        proxy={"host": "127.0.0.1", "port": 9, "login": "bob"},
        proxy_password=CANARY + "-proxy",
    )
    report = run_connection_test(
        conn, targets(portal), identity=identity(), authenticate=Recorder(WrongCredentials())
    )
    out = tmp_path / "rapport.json"
    report.export(out)
    text = out.read_text(encoding="utf-8")
    assert "CANARY" not in text
    assert '"format": 1' in text

"""Configuration files and the clock's durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dsnlink.errors import InvalidInput
from dsnlink.simulator import Simulator, load_config
from dsnlink.simulator.clock import from_paris_stamp, parse_duration, to_paris_stamp

CANARY = "CANARY-s3cr3t-cfg"


def test_yaml_configuration(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(
        f"""
token_ttl_seconds: 60
deposit_window_minutes: 180
seed: 3
accounts:
  - {{siret: "12345678900011", nom: DUPONT, prenom: Marie, password: "{CANARY}",
     services: ["25"], employers: ["12345678900011"], max_failures: 2}}
faults:
  - {{route: deposit, kind: status, status: 503, count: 2}}
maintenance:
  - {{start: "2026-03-14T22:00:00+01:00", end: "2026-03-15T06:00:00+01:00"}}
""",
        encoding="utf-8",
    )
    config = load_config(path)
    assert CANARY not in repr(config)
    sim = Simulator(config)
    try:
        account = next(a for a in sim.accounts.list() if a.identity.nom == "DUPONT")
        assert account.services == ("25",) and account.employers == ("12345678900011",)
        assert len(sim.accounts.list()) == 3  # plus the mock's two
        assert sim.faults.public()["rules"][0]["route"] == "deposit"  # type: ignore[index]
    finally:
        sim.close()


def test_bad_configuration_is_explained_without_secrets(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(f'{{"accounts": [{{"siret": "1", "password": "{CANARY}"}}]}}')
    with pytest.raises(InvalidInput) as caught:
        load_config(path)
    assert CANARY not in str(caught.value) and CANARY not in str(caught.value.to_dict())
    with pytest.raises(InvalidInput):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "d", "3x", "3d junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


def test_paris_stamps_round_trip_across_summer_time() -> None:
    for stamp in ("20260329015959", "20260329030000", "20261025023000"):
        assert to_paris_stamp(from_paris_stamp(stamp)) == stamp
    with pytest.raises(ValueError):
        from_paris_stamp("20260230120000")

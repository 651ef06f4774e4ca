"""``dsnlink returns show``, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dsnlink.returns import Anomaly, Employee
from dsnlink.returns.build import build_ban, build_crm_pas


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", "returns", "show", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def samples(reference_dir: Path) -> Path:
    return reference_dir / "gipmds-returns"


def test_crm_94_json(samples: Path) -> None:
    result = run(samples / "Exemple-94-DGFIP-crm-nominatif.xml", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "pas_rates"
    assert data["identifier"] == "123456789123456789"
    assert data["idflux"] == "41358177C5AD6C0000000000"
    (employee,) = data["declarations"][0]["employees"]
    assert (employee["nir"], employee["matricule"], employee["rate"]) == (
        "9999999999999",
        "MAT00009825",
        "14.00",
    )
    assert data["anomalies_count"] == 1


def test_crm_94_for_people(samples: Path) -> None:
    result = run(samples / "Exemple-94-DGFIP-crm-nominatif.xml")
    assert result.returncode == 0, result.stderr
    assert "taux de prélèvement à la source" in result.stdout
    assert "MAT00009825" in result.stdout
    assert "14.00 %" in result.stdout
    assert "ADR05" in result.stdout


def test_ban_for_people(samples: Path) -> None:
    result = run(samples / "exemple_retour_11_BAN.xml")
    assert result.returncode == 0, result.stderr
    assert "Bilan d'anomalies (BAN)" in result.stdout
    assert "CSL-01" in result.stdout and "S10.G00.00.002" in result.stdout
    assert "10/02/2015 à 11:02:59" in result.stdout


def test_deposit_json_summary(samples: Path) -> None:
    result = run(samples / "exemple_retour_10_ARE.xml", "--json")
    data = json.loads(result.stdout)
    assert (data["kind"], data["accepted"], data["state"]) == ("deposit", False, "KO")


def test_broken_file(tmp_path: Path, samples: Path) -> None:
    broken = tmp_path / "retour.xml"
    broken.write_bytes((samples / "exemple_retour_10_AEE.xml").read_bytes()[:400])
    result = run(broken)
    assert result.returncode == 2
    assert "n'est pas un XML bien formé (ligne" in result.stderr
    assert "Traceback" not in result.stderr


def test_hostile_file_json(tmp_path: Path) -> None:
    hostile = tmp_path / "retour.xml"
    hostile.write_bytes(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')
    result = run(hostile, "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "returns.unsafe_xml"
    assert "root:" not in result.stdout  # nothing of /etc/passwd


def test_missing_file(tmp_path: Path) -> None:
    result = run(tmp_path / "absent.xml")
    assert result.returncode == 2
    assert "il n'existe pas" in result.stderr


def test_values_are_not_markup(tmp_path: Path) -> None:
    path = tmp_path / "ban.xml"
    path.write_bytes(
        build_ban(
            [Anomaly(code="X1", category="bloquant", message="[bold]gras[/bold] et [red]")],
            idflux="F" * 23,
            siren="123456789",
            nic="00012",
            emitter_siret="12345678900012",
        )
    )
    result = run(path)
    assert result.returncode == 0, result.stderr
    assert "[bold]gras[/bold] et [red]" in result.stdout


def test_long_crm_is_cut_for_people(tmp_path: Path) -> None:
    path = tmp_path / "crm.xml"
    employees = [Employee(nir=f"1{i:012d}", rate=Decimal("5.5")) for i in range(60)]
    path.write_bytes(
        build_crm_pas(
            employees,
            identifier="1" * 18,
            idflux="F" * 23,
            siren="123456789",
            nic="00012",
            emitter_siret="12345678900012",
        )
    )
    result = run(path)
    assert "… et 10 autre(s) salarié(s)" in result.stdout
    assert "1000000000059" not in result.stdout
    everything = run(path, "--limit", "0")
    assert "1000000000059" in everything.stdout
    data = json.loads(run(path, "--json", "--limit", "1").stdout)
    assert data["employees_count"] == 60

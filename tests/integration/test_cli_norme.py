"""``dsnlink check / split / generate`` as real subprocesses: output, files and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dsnlink.norme import generate_monthly_dsn, validate


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dsnlink", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, kwargs in {
        "clean": {},
        "warning": {"declarations": 2},
        "blocking": {"fault": "bad-siret-key"},
    }.items():
        path = tmp_path / f"{name}.dsn"
        path.write_bytes(generate_monthly_dsn(3, seed=5, **kwargs))  # type: ignore[arg-type]
        out[name] = path
    return out


@pytest.mark.parametrize(("name", "code"), [("clean", 0), ("warning", 1), ("blocking", 2)])
def test_check_exit_codes(files: dict[str, Path], name: str, code: int) -> None:
    result = run("check", str(files[name]))
    assert result.returncode == code, result.stdout + result.stderr
    assert "Résultat" in result.stdout


def test_check_json_and_worst_exit_code(files: dict[str, Path]) -> None:
    result = run("check", "--json", *(str(p) for p in files.values()))
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["exit_code"] == 2
    by_file = {Path(f["file"]).stem: f for f in data["files"]}
    assert by_file["clean"]["findings"] == []
    assert by_file["blocking"]["findings"][0]["code"] == "key.siret"
    assert by_file["warning"]["summary"]["envois"][0]["declarations"][1]["employee_count"] == 3
    employee = by_file["clean"]["summary"]["envois"][0]["declarations"][0]["employees"][0]
    assert set(employee) >= {"nir", "matricule", "pas_rate", "crm_id"}


def test_check_shows_nir_masked_for_people(files: dict[str, Path]) -> None:
    result = run("check", str(files["clean"]))
    (envoi,) = validate(files["clean"]).summary.envois
    nir = envoi.declarations[0].employees[0].nir
    assert nir is not None
    assert nir not in result.stdout and nir[:5] + "********" in result.stdout


def test_check_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "absent.dsn"))
    assert result.returncode == 2 and "absent.dsn" in result.stderr


def test_split_writes_valid_one_declaration_files(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("split", str(files["warning"]), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)["written"]
    assert len(written) == 2
    for item in written:
        report = validate(item["file"])
        assert report.findings == [] and len(report.summary.declarations) == 1
    assert run("check", *(item["file"] for item in written)).returncode == 0


def test_generate_then_check(tmp_path: Path) -> None:
    target = tmp_path / "gen.dsn"
    result = run(
        "generate", "--employees", "4", "--siret", "73282932000074", "--month", "2025-06",
        "--seed", "3", "--out", str(target),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == generate_monthly_dsn(
        4, siret="73282932000074", month="2025-06", seed=3
    )
    assert run("check", str(target)).returncode == 0
    faulty = tmp_path / "faulty.dsn"
    assert run("generate", "--fault", "bad-date", "--out", str(faulty)).returncode == 0
    assert run("check", str(faulty)).returncode == 2


def test_generate_rejects_unknown_fault_and_bad_month(tmp_path: Path) -> None:
    result = run("generate", "--fault", "nope", "--out", str(tmp_path / "x.dsn"))
    assert result.returncode == 2 and "Défaut" in result.stderr
    result = run("generate", "--month", "2025-13", "--out", str(tmp_path / "x.dsn"), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "invalid_input"

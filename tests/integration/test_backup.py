"""Backups against a real installation: taken while another process writes deposits, killed
half-way, corrupted, truncated; restored; the master key never inside."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from dsnlink.maintenance import archive
from dsnlink.maintenance.backup import take_backup
from dsnlink.maintenance.restore import verify_backup
from dsnlink.maintenance.retention import apply_retention, list_backups, remove_abandoned
from dsnlink.settings import get_settings
from dsnlink.store import open_database
from tests.conftest import ROOT, SRC
from tests.integration.cli_helpers import ADMIN_PW, SET_DECLARANT, invoke
from tests.support.ledger_fill import fill, return_content

CANARY = "CANARY-bkp-s3cr3t-77"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(SRC)])}


def _init(data_dir: Path) -> None:
    assert invoke("init", DSNLINK_ADMIN_PASSWORD=ADMIN_PW).code == 0, data_dir


def _db_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'dsnlink.sqlite3'}"


def _counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("deposit_files", "envois", "envoi_events", "return_files")
        }


WRITER = """
import sys, time
from dsnlink.store import open_database
from tests.support.ledger_fill import fill
db = open_database(sys.argv[1])
n, stop = int(sys.argv[2]), sys.argv[3]
import os
while not os.path.exists(stop):
    fill(db, 1, returns_per=3, start=n)  # one deposit and its returns per transaction
    n += 1
print(n)
"""


def test_backup_while_another_process_deposits_restores_consistent(
    hermetic_env: Path, tmp_path: Path
) -> None:
    _init(hermetic_env)
    db = open_database(_db_url(hermetic_env))
    fill(db, 300, returns_per=3)
    db.dispose()
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, _db_url(hermetic_env), "300", str(stop)],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until the writer is really writing, then back up twice while it goes on.
        deadline = time.monotonic() + 60
        while _counts(hermetic_env / "dsnlink.sqlite3")["envois"] < 320:
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.05)
        first = take_backup(get_settings(), _mkdir(tmp_path / "bk1"))
        second = take_backup(get_settings(), tmp_path / "bk1")
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    final = int(out.strip())
    assert writer.returncode == 0
    for result in (first, second):
        tables = result.manifest.tables
        # A snapshot taken in the middle of the writes: more than before, fewer than after.
        assert 320 <= tables["envois"] < final
        assert tables["deposit_files"] == tables["envois"] == tables["envoi_events"]
        assert tables["return_files"] == 3 * tables["envois"] == result.manifest.returns
        report = verify_backup(result.path)
        assert "intégrité SQLite : ok" in report.checks

    new_dir = tmp_path / "restored"
    r = invoke("restore", str(second.path), "--data-dir", str(new_dir), "--json")
    assert r.code == 0, r.stdout + r.stderr
    restored = new_dir / "dsnlink.sqlite3"
    with contextlib.closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT idflux, nature, content FROM return_files").fetchall()
    assert _counts(restored)["return_files"] == second.manifest.tables["return_files"]
    # Every return file present, with the content (checksum) it was written with.
    for idflux, nature, content in rows:
        expected = return_content(int(idflux[3:]), nature)
        assert hashlib.sha256(content).digest() == hashlib.sha256(expected).digest()
    by_flux = {r[0] for r in rows}
    assert len(by_flux) == second.manifest.tables["envois"]


KILLER = """
import sys, time
from pathlib import Path
from dsnlink.maintenance import archive
marker = Path(sys.argv[1])
def hook(name):
    if name.startswith("database/"):
        marker.touch()
        time.sleep(120)  # killed here, half-way through the archive
archive.on_member_written = hook
from dsnlink.cli.main import cli
cli(["backup", "--to", sys.argv[2]], prog_name="dsnlink")
"""


def test_backup_killed_half_way_leaves_previous_intact_and_nothing_counted(
    hermetic_env: Path, tmp_path: Path
) -> None:
    _init(hermetic_env)
    db = open_database(_db_url(hermetic_env))
    fill(db, 200, returns_per=2)
    db.dispose()
    target = tmp_path / "bk"
    target.mkdir()
    previous = take_backup(get_settings(), target)
    before = previous.path.read_bytes()
    marker = tmp_path / "half-way"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(marker), str(target)],
        env={**ENV, "DSNLINK_DATA_DIR": str(hermetic_env)},
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    leftovers = [p.name for p in target.iterdir() if p != previous.path]
    assert any(n.endswith(archive.PARTIAL) for n in leftovers), leftovers
    # The previous backup is untouched and still the only one listed; the partial is no backup.
    assert previous.path.read_bytes() == before
    listed = list_backups(target)
    assert [b.path for b in listed] == [previous.path] and listed[0].good
    r = invoke("backup", "list", "--to", str(target), "--json")
    assert [b["file"] for b in r.json()["backups"]] == [str(previous.path)]
    verify_backup(previous.path)
    # Retention with keep=1 never deletes the good one to count a partial.
    assert apply_retention(target, 1) == []
    assert previous.path.exists()
    # Once clearly abandoned, the leftovers are cleaned; a new backup works.
    assert remove_abandoned(target, older_than=0)
    assert sorted(p.name for p in target.iterdir()) == [previous.path.name]
    assert verify_backup(take_backup(get_settings(), target).path)


def _truncated(src: Path, dest: Path) -> Path:
    dest.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    return dest


def _flipped(src: Path, dest: Path) -> Path:
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dest.write_bytes(bytes(data))
    return dest


def _repacked(src: Path, dest: Path, *, damage_db: bool, fix_manifest: bool) -> Path:
    """Same members, database bytes changed; optionally the manifest recomputed to match."""
    with tarfile.open(src, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    db = bytearray(members["database/dsnlink.sqlite3"])
    if damage_db:
        # Wreck a page in the middle (tables' b-tree pages), keep the file size.
        page = 4096 * (len(db) // 4096 // 2)
        db[page : page + 4096] = b"\x0d" * 4096
    members["database/dsnlink.sqlite3"] = bytes(db)
    manifest = json.loads(members["manifest.json"])
    if fix_manifest:
        manifest["members"]["database/dsnlink.sqlite3"] = {
            "size": len(db),
            "sha256": hashlib.sha256(db).hexdigest(),
        }
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(dest, "w:gz") as tar:
        for name in ["manifest.json", *sorted(n for n in members if n != "manifest.json")]:
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    return dest


def test_corrupted_or_truncated_archive_is_detected_and_refused(
    hermetic_env: Path, tmp_path: Path
) -> None:
    _init(hermetic_env)
    db = open_database(_db_url(hermetic_env))
    fill(db, 400, returns_per=2)
    db.dispose()
    good = take_backup(get_settings(), _mkdir(tmp_path / "bk")).path
    current = (hermetic_env / "dsnlink.sqlite3").read_bytes()
    bad = [
        _truncated(good, tmp_path / "truncated.tar.gz"),
        _flipped(good, tmp_path / "flipped.tar.gz"),
        _repacked(good, tmp_path / "altered.tar.gz", damage_db=True, fix_manifest=False),
        # Checksums made to match: SQLite's integrity check or the counts still catch it.
        _repacked(good, tmp_path / "rewritten.tar.gz", damage_db=True, fix_manifest=True),
        tmp_path / "empty.tar.gz",
    ]
    bad[-1].write_bytes(b"")
    for archive_file in bad:
        r = invoke("backup", "verify", str(archive_file), "--json")
        assert r.code == 14, (archive_file.name, r.stdout)
        assert r.json()["error"]["code"] == "maintenance.backup_corrupt", archive_file.name
        new_dir = tmp_path / f"new-{archive_file.stem}"
        r = invoke("restore", str(archive_file), "--data-dir", str(new_dir), "--json")
        assert r.code == 14 and not (new_dir / "dsnlink.sqlite3").exists(), archive_file.name
        r = invoke("restore", str(archive_file), "--yes", "--json")
        assert r.code == 14, archive_file.name
    # Nothing was replaced, and no safety backup was even needed: refused before anything.
    assert (hermetic_env / "dsnlink.sqlite3").read_bytes() == current
    assert [b.path for b in list_backups(tmp_path / "bk")] == [good]
    r = invoke("backup", "verify", str(good), "--json")
    assert r.code == 0 and r.json()["ok"] is True


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_master_key_and_secrets_never_in_clear_in_a_backup(
    hermetic_env: Path, tmp_path: Path
) -> None:
    _init(hermetic_env)
    r = invoke(
        *SET_DECLARANT,
        input=CANARY + "\n",
        DSNLINK_PASSWORD=ADMIN_PW,
    )
    assert r.code == 0, r.stderr
    (hermetic_env / "notes").mkdir()
    (hermetic_env / "notes" / "lisez-moi.txt").write_text("gardé")
    r = invoke("backup", "--json")
    assert r.code == 0, r.stdout + r.stderr
    path = Path(r.json()["file"])
    ring = json.loads((hermetic_env / "master.key").read_text())
    keys = [base64.b64decode(v) for v in ring["keys"].values()]
    raw = gzip.decompress(path.read_bytes())
    for key in keys:
        assert key not in raw and base64.b64encode(key) not in raw
    assert CANARY.encode() not in raw and CANARY.encode() not in path.read_bytes()
    manifest = archive.read_manifest(path)
    assert manifest.tables["secrets"] == 1  # sealed, kept: opens with the key kept apart
    assert "files/notes/lisez-moi.txt" in manifest.members
    assert not any("master.key" in m for m in manifest.members)
    # Restored elsewhere with the key exported apart, the sealed password opens again.
    new_dir = tmp_path / "ailleurs"
    assert invoke("restore", str(path), "--data-dir", str(new_dir)).code == 0
    assert (new_dir / "notes" / "lisez-moi.txt").read_text() == "gardé"
    assert not (new_dir / "master.key").exists()
    r = invoke(
        "identity", "show", "--json", DSNLINK_DATA_DIR=str(new_dir), DSNLINK_PASSWORD=ADMIN_PW
    )
    assert r.code == 0 and r.json()[0]["siret"] == "99900000300015"
    from dsnlink.settings import Settings
    from dsnlink.setup import open_app
    from dsnlink.vault import SecretRef

    exported = tmp_path / "cle.json"
    assert invoke("vault", "export-key", "--to", str(exported)).code == 0
    settings = Settings(
        data_dir=new_dir, master_key_file=exported, keyring=False, database_url=None
    )
    with open_app(settings) as app:
        ident = r.json()[0]
        assert app.vault.get_secret(SecretRef("identities", ident["id"], "password")) == CANARY


def test_restore_over_the_current_installation_takes_a_safety_backup_first(
    hermetic_env: Path, tmp_path: Path
) -> None:
    _init(hermetic_env)
    db = open_database(_db_url(hermetic_env))
    fill(db, 10)
    db.dispose()
    old = take_backup(get_settings(), _mkdir(tmp_path / "bk"))
    db = open_database(_db_url(hermetic_env))
    fill(db, 5, start=10)
    db.dispose()
    r = invoke("restore", str(old.path), "--json")
    assert r.code == 6 and "--yes" in r.json()["error"]["remedy"]
    assert _counts(hermetic_env / "dsnlink.sqlite3")["envois"] == 15
    r = invoke("restore", str(old.path), "--yes", "--json")
    assert r.code == 0, r.stdout
    assert _counts(hermetic_env / "dsnlink.sqlite3")["envois"] == 10
    safety = Path(r.json()["safety_backup"])
    assert archive.read_manifest(safety).tables["envois"] == 15
    verify_backup(safety)
    assert invoke("users", "list", "--json", DSNLINK_PASSWORD=ADMIN_PW).code == 0


def test_backup_of_an_older_schema_then_upgrade(hermetic_env: Path, tmp_path: Path) -> None:
    """A backup is what one takes before ``dsnlink upgrade``: it works on an older schema."""
    from dsnlink.store.schema import known_revisions

    _init(hermetic_env)
    older = known_revisions()[-2]
    with contextlib.closing(sqlite3.connect(hermetic_env / "dsnlink.sqlite3")) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (older,))
    r = invoke("backup", "--to", str(_mkdir(tmp_path / "bk")), "--json")
    assert r.code == 0 and r.json()["schema_revision"] == older
    assert invoke("backup", "verify", r.json()["file"]).code == 0


def test_backup_target_errors_are_clear(hermetic_env: Path, tmp_path: Path) -> None:
    _init(hermetic_env)
    r = invoke("backup", "--to", str(tmp_path / "déplacé"), "--json")
    assert r.code == 14
    err = r.json()["error"]
    assert err["code"] == "maintenance.backup_target" and "n'existe pas" in err["message"]
    (tmp_path / "fichier").write_text("x")
    r = invoke("backup", "--to", str(tmp_path / "fichier"), "--json")
    assert r.code == 14 and "n'est pas un dossier" in r.json()["error"]["message"]


@pytest.fixture
def unwritable(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A folder this process cannot write into, even as root (immutable attribute)."""
    folder = tmp_path / "lecture-seule"
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
            pytest.skip("chattr +i unavailable: cannot make a folder unwritable for root")
        try:
            yield folder
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


def test_unwritable_target_is_a_clear_error(hermetic_env: Path, unwritable: Path) -> None:
    _init(hermetic_env)
    r = invoke("backup", "--to", str(unwritable), "--json")
    assert r.code == 14 and "ne peut pas écrire" in r.json()["error"]["message"]
    assert list(unwritable.iterdir()) == []


def test_restore_over_a_running_installation_is_refused(hermetic_env: Path, tmp_path: Path) -> None:
    from dsnlink.jobs.locks import file_lock

    _init(hermetic_env)
    backup = take_backup(get_settings(), _mkdir(tmp_path / "bk"))
    before = (hermetic_env / "dsnlink.sqlite3").read_bytes()
    with file_lock(hermetic_env / "runner.lock"):
        r = invoke("restore", str(backup.path), "--yes", "--json")
    assert r.code == 12 and "dsnlink run" in r.json()["error"]["message"]
    assert (hermetic_env / "dsnlink.sqlite3").read_bytes() == before
    assert invoke("restore", str(backup.path), "--yes").code == 0

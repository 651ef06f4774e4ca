"""The watched folder: where payroll software drops DSN files for automatic deposit.

Safe pick-up:

- only complete files: names ending in ``.tmp``/``.part``/``.crdownload`` or starting with
  ``.``/``~`` are ignored (write then rename is the safe way for the payroll tool), and a file
  is taken only when its size and modification time did not change between two scans;
- taken by an atomic rename into ``.en-cours/`` (so two watchers never both take it), then
  recorded in the ledger (the SHA-256 makes a second drop of the same bytes a no-op, even after
  a restart), then moved to ``deposes/`` or ``refuses/`` with the results beside it: a
  ``.json`` for scripts and a ``.txt`` for people; the results are rewritten when the deposit's
  state changes;
- a crash between two of these steps is repaired at the next start: files left in
  ``.en-cours/`` are taken again (the ledger makes that idempotent).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from dsnlink.errors import DsnlinkError
from dsnlink.logs import get_logger
from dsnlink.pipeline.context import Pipeline
from dsnlink.pipeline.intake import receive
from dsnlink.pipeline.model import Envoi, ReceivedFile
from dsnlink.pipeline.states import FINAL, LABELS, EnvoiState

log = get_logger("dsnlink.pipeline.watch")

PROCESSING = ".en-cours"
DONE = "deposes"
REFUSED = "refuses"
_IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp")


@dataclass(frozen=True)
class Picked:
    name: str
    destination: Path
    ok: bool
    message: str


class Watcher:
    def __init__(
        self,
        pipeline: Pipeline,
        folder: Path,
        *,
        acting_login: str,
        test_first: bool | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.folder = folder
        self.acting_login = acting_login
        self.test_first = test_first
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        for sub in (PROCESSING, DONE, REFUSED):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    # -- one scan ---------------------------------------------------------------------------

    def scan_once(self) -> list[Picked]:
        picked = [self._process(path) for path in sorted((self.folder / PROCESSING).iterdir())]
        for path in sorted(self.folder.iterdir()):
            if not self._candidate(path):
                continue
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            if self._seen.get(path.name) != signature:
                self._seen[path.name] = signature  # seen once: take it next scan if unchanged
                continue
            del self._seen[path.name]
            target = _free_name(self.folder / PROCESSING / path.name)
            try:
                path.rename(target)  # atomic on one file system
            except FileNotFoundError:
                continue  # another watcher took it
            picked.append(self._process(target))
        self.refresh_results()
        return picked

    def _candidate(self, path: Path) -> bool:
        name = path.name
        return (
            path.is_file()
            and not name.startswith((".", "~"))
            and not name.lower().endswith(_IGNORED_SUFFIXES)
        )

    def _process(self, path: Path) -> Picked:
        data = path.read_bytes()
        try:
            intake = receive(
                self.pipeline,
                data,
                name=path.name,
                acting_login=self.acting_login,
                test_first=self.test_first,
                source="watch",
            )
        except DsnlinkError as exc:
            destination = self._finish(path, REFUSED, _error_result(path.name, exc))
            return Picked(path.name, destination, False, exc.message)
        ok = not intake.file.blocking
        result = _intake_result(intake.file, list(intake.envois), intake.message)
        destination = self._finish(path, DONE if ok else REFUSED, result)
        return Picked(path.name, destination, ok, intake.message)

    def _finish(self, path: Path, where: str, result: dict[str, object]) -> Path:
        destination = _free_name(self.folder / where / path.name)
        _write_results(destination, result)  # results first: a crash leaves the file to redo
        path.rename(destination)
        return destination

    def refresh_results(self) -> None:
        """Rewrite the results of deposits still in progress when their state changed."""
        for result_path in (self.folder / DONE).glob("*.json"):
            try:
                current = json.loads(result_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if current.get("termine") or not current.get("fichier_id"):
                continue
            file = self.pipeline.ledger.get_file(str(current["fichier_id"]))
            envois = self.pipeline.ledger.envois(file_id=file.id)
            fresh = _intake_result(file, envois, str(current.get("message", "")))
            if fresh != current:
                _write_results(result_path.with_suffix(""), fresh)

    # -- loop -------------------------------------------------------------------------------

    def run(self, *, interval: float = 2.0) -> None:
        while not self._stop.is_set():
            try:
                for item in self.scan_once():
                    log.info("watch_picked", name=item.name, ok=item.ok)
            except OSError as exc:
                log.error("watch_scan_failed", error=type(exc).__name__)
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    for n in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(path)


def _intake_result(file: ReceivedFile, envois: list[Envoi], message: str) -> dict[str, object]:
    return {
        "fichier": file.name,
        "fichier_id": file.id,
        "sha256": file.sha256,
        "recu_le": file.received_at.isoformat(),
        "bloquant": file.blocking,
        "message": message,
        "anomalies": [
            {"code": f.code, "gravite": f.severity, "ligne": f.line, "message": f.message}
            for f in file.findings
        ],
        "envois": [
            {
                "id": e.id,
                "role": e.role,
                "siret": e.declaration.declared_siret,
                "mois": e.declaration.month,
                "etat": e.state.value,
                "idflux": e.idflux,
            }
            for e in envois
        ],
        "termine": (bool(envois) and all(e.state in FINAL for e in envois)) or file.blocking,
    }


def _error_result(name: str, exc: DsnlinkError) -> dict[str, object]:
    return {"fichier": name, "erreur": exc.to_dict(), "termine": True, "message": exc.message}


def _write_results(destination: Path, result: dict[str, object]) -> None:
    text = [str(result.get("message", ""))]
    if "erreur" in result:
        error = result["erreur"]
        assert isinstance(error, dict)
        text.append(f"Que faire : {error.get('remedy') or ''}")
    for anomaly in result.get("anomalies", []) or []:  # type: ignore[attr-defined]
        text.append(f"- ligne {anomaly['ligne']} : {anomaly['message']} ({anomaly['gravite']})")
    for envoi in result.get("envois", []) or []:  # type: ignore[attr-defined]
        state = _state(envoi["etat"])
        label = LABELS[state] if state is not None else envoi["etat"]
        flux = f", flux {envoi['idflux']}" if envoi["idflux"] else ""
        text.append(f"- SIRET {envoi['siret']}, mois {envoi['mois']} : {label}{flux}")
    for suffix, body in (
        (".json", json.dumps(result, ensure_ascii=False, indent=2)),
        (".txt", "\n".join(text) + "\n"),
    ):
        final = destination.with_name(destination.name + suffix)
        temp = final.with_name(final.name + ".tmp")
        temp.write_text(body, encoding="utf-8")
        temp.replace(final)


def _state(value: str) -> EnvoiState | None:
    try:
        return EnvoiState(value)
    except ValueError:
        return None

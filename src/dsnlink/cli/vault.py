"""``dsnlink vault``: export the master key, rotate it, re-encrypt every secret."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dsnlink.cli.output import console, emit, err_console, json_option
from dsnlink.errors import VaultError
from dsnlink.settings import Settings, get_settings
from dsnlink.vault.keys import (
    EXPORT_WARNING,
    KeySource,
    create_master_key,
    export_master_key,
    load_keyring,
    save_keyring,
)
from dsnlink.vault.protocols import SealedSecretStore, SecretRef
from dsnlink.vault.rotation import (
    DEFAULT_BATCH,
    RotationReport,
    count_sealed,
    forget_retired_keys,
    keys_in_use,
    reencrypt_all,
    rotate_master_key,
)

_batch_option = click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Secrets traités par transaction (et entre deux points de reprise).",
)


@click.group("vault")
def vault_group() -> None:
    """Coffre-fort des secrets : clé maîtresse, changement de clé, rechiffrement."""


@vault_group.command("export-key")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier à créer (droits 0600, jamais par-dessus un fichier existant).",
)
def export_key(target: Path | None) -> None:
    """Exporte la clé maîtresse (et les anciennes clés) pour la mettre en lieu sûr."""
    ring = load_keyring(get_settings())
    err_console.print(f"[bold yellow]{EXPORT_WARNING}[/]", markup=True)
    text = export_master_key(ring, target)
    if target is None:
        # Straight to stdout: emit() would mask the key, which is registered as a secret.
        click.echo(text, nl=False)
    else:
        err_console.print(f"Clé maîtresse exportée dans {target} (droits 0600).")


@vault_group.command("rotate-master-key")
@click.option(
    "--resume",
    is_flag=True,
    help="Terminer un changement de clé interrompu (ou adopter la première clé de "
    "DSNLINK_MASTER_KEY) sans créer de nouvelle clé.",
)
@click.option("--dry-run", is_flag=True, help="Vérifier sans rien modifier.")
@_batch_option
@json_option
def rotate(resume: bool, dry_run: bool, batch_size: int, json_output: bool) -> None:
    """Crée une nouvelle clé maîtresse et re-chiffre avec elle la clé de chaque secret."""
    settings = get_settings()
    ring = load_keyring(settings)
    with _secret_store(settings) as store:
        checkpoint = _Checkpoint(settings, "rotate")
        start = checkpoint.load(ring.active.key_id) if resume else None
        if not resume and not dry_run:
            checkpoint.clear()  # a new key: an old checkpoint no longer applies
        with _progress(store, start, "Changement de clé", quiet=json_output) as on_batch:
            new_ring, report = rotate_master_key(
                ring,
                store,
                save=lambda r: save_keyring(settings, r),
                resume=resume,
                dry_run=dry_run,
                start_after=start,
                batch_size=batch_size,
                progress=_chain(on_batch, None if dry_run else checkpoint.save),
            )
    if report.complete and not dry_run:
        checkpoint.clear()
    _finish(report, json_output, start)
    if not json_output and not dry_run:
        err_console.print(
            f"Clé active : {new_ring.active.key_id}. Exportez le trousseau maintenant "
            "(« dsnlink vault export-key --to … ») et, en réseau, installez-le sur chaque poste."
        )


@vault_group.command("reencrypt")
@click.option("--dry-run", is_flag=True, help="Vérifier sans rien modifier.")
@click.option("--restart", is_flag=True, help="Tout reprendre au début (ignorer une reprise).")
@_batch_option
@json_option
def reencrypt(dry_run: bool, restart: bool, batch_size: int, json_output: bool) -> None:
    """Re-chiffre chaque secret avec une nouvelle clé de données (reprend après une coupure)."""
    settings = get_settings()
    ring = load_keyring(settings)
    with _secret_store(settings) as store:
        checkpoint = _Checkpoint(settings, "reencrypt")
        start = None if restart or dry_run else checkpoint.load(ring.active.key_id)
        with _progress(store, start, "Rechiffrement", quiet=json_output) as on_batch:
            report = reencrypt_all(
                ring,
                store,
                dry_run=dry_run,
                start_after=start,
                batch_size=batch_size,
                progress=_chain(on_batch, None if dry_run else checkpoint.save),
            )
    if report.complete and not dry_run:
        checkpoint.clear()
    _finish(report, json_output, start)


@vault_group.command("forget-retired-keys")
@json_option
def forget_retired(json_output: bool) -> None:
    """Retire du trousseau les anciennes clés qu'aucun secret n'utilise plus."""
    settings = get_settings()
    ring = load_keyring(settings)
    with _secret_store(settings) as store:
        new_ring, dropped = forget_retired_keys(ring, store)
    if dropped:
        save_keyring(settings, new_ring)
    data = {"forgotten": dropped, "retired": [k.key_id for k in new_ring.retired]}

    def render(d: dict[str, Any]) -> None:
        if d["forgotten"]:
            console.print(f"Clés oubliées : {', '.join(d['forgotten'])}.")
        else:
            console.print("Aucune ancienne clé à oublier.")
        if d["retired"]:
            console.print(f"Anciennes clés encore utilisées : {', '.join(d['retired'])}.")

    emit(data, json_output=json_output, render=render)


@vault_group.command("status")
@json_option
def status(json_output: bool) -> None:
    """Affiche la clé maîtresse active, les anciennes clés et le nombre de secrets de chacune."""
    settings = get_settings()
    ring = load_keyring(settings)
    with _secret_store(settings) as store:
        usage = keys_in_use(store)
    data = {
        "source": str(ring.source),
        "key_file": str(settings.effective_master_key_file)
        if ring.source is KeySource.FILE
        else None,
        "active_key_id": ring.active.key_id,
        "retired_key_ids": [k.key_id for k in ring.retired],
        "sealed_by_key_id": usage,
        "unknown_key_ids": sorted(k for k in usage if ring.get(k) is None),
    }

    def render(d: dict[str, Any]) -> None:
        where = {"env": "DSNLINK_MASTER_KEY", "keyring": "trousseau de clés du système"}
        console.print(
            f"Clé active : {d['active_key_id']} ({where.get(d['source'], d['key_file'])})"
        )
        for key_id in d["retired_key_ids"]:
            console.print(f"Ancienne clé : {key_id}")
        for key_id, count in sorted(d["sealed_by_key_id"].items()):
            console.print(f"  secrets sous la clé {key_id} : {count}")
        if d["unknown_key_ids"]:
            console.print(
                f"[bold red]Clés inconnues ici :[/] {', '.join(d['unknown_key_ids'])} : ces "
                "secrets ne peuvent pas être lus avec ce trousseau.",
                markup=True,
            )

    emit(data, json_output=json_output, render=render)


@vault_group.command("create-key")
@click.option(
    "--keyring/--file",
    "use_keyring",
    default=None,
    help="Où enregistrer la clé (défaut : le trousseau du système s'il existe, sinon le "
    "fichier de clé).",
)
def create_key(use_keyring: bool | None) -> None:
    """Crée une clé maîtresse quand il n'en existe aucune (clé perdue sans export)."""
    settings = get_settings()
    where = None if use_keyring is None else KeySource.KEYRING if use_keyring else KeySource.FILE
    ring = create_master_key(settings, where=where)
    place = (
        settings.effective_master_key_file
        if ring.source is KeySource.FILE
        else "le trousseau de clés du système"
    )
    console.print(f"Clé maîtresse {ring.active.key_id} créée dans {place}.")
    err_console.print(
        "Exportez-la maintenant (« dsnlink vault export-key --to … »). Les secrets chiffrés avec "
        "une clé perdue restent illisibles : saisissez-les à nouveau. En réseau, ne créez pas "
        "de clé sur chaque poste : installez sur chacun celle du premier."
    )


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _secret_store(settings: Settings) -> Iterator[SealedSecretStore]:
    """The ``secrets`` table of this installation (réseau: its recorded database address)."""
    from dsnlink.setup import open_app
    from dsnlink.store import SqlSealedSecretStore

    with open_app(settings) as app:
        yield SqlSealedSecretStore(app.db)


class _Checkpoint:
    """The last finished batch of a walk, in the data folder, so that a rerun resumes there.

    Holds a ref (table, row id, field) and a key id: nothing secret.
    """

    def __init__(self, settings: Settings, operation: str) -> None:
        self.path = settings.data_dir / f"vault-{operation}.checkpoint.json"
        self.operation = operation

    def load(self, active_key_id: str) -> SecretRef | None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if doc["active_key_id"] != active_key_id:
                return None  # another key since: start again from the beginning
            return SecretRef(doc["table"], doc["row_id"], doc["field"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, report: RotationReport) -> None:
        ref = report.last_ref
        if ref is None:
            return
        doc = {"active_key_id": report.active_key_id, "table": ref.table}
        doc |= {"row_id": ref.row_id, "field": ref.field}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        tmp.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


Callback = Callable[[RotationReport], None]


def _chain(*callbacks: Callback | None) -> Callback:
    def call(report: RotationReport) -> None:
        for callback in callbacks:
            if callback is not None:
                callback(report)

    return call


@contextmanager
def _progress(
    store: SealedSecretStore, start: SecretRef | None, label: str, *, quiet: bool
) -> Iterator[Callback]:
    if quiet:
        yield lambda _report: None
        return
    total = count_sealed(store, start_after=start)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=total)

        def advance(report: RotationReport) -> None:
            progress.update(task, completed=min(report.scanned, total))

        yield advance


def _finish(report: RotationReport, json_output: bool, start: SecretRef | None) -> None:
    data = report.to_dict() | {"resumed_after": None if start is None else _ref(start)}
    emit(data, json_output=json_output, render=_render_report)
    if not report.complete:
        if not json_output:
            err_console.print(
                f"[bold red]Erreur :[/] {len(report.failed)} secret(s) illisible(s) et "
                f"{len(report.contended)} secret(s) modifié(s) pendant l'opération ont été "
                "laissés tels quels.",
                markup=True,
            )
            err_console.print(
                "[yellow]Que faire :[/] relancez la commande ; pour les secrets illisibles, "
                "restaurez l'ancienne clé ou saisissez-les à nouveau.",
                markup=True,
            )
        sys.exit(VaultError.exit_code)


def _ref(ref: SecretRef) -> str:
    return f"{ref.table}/{ref.row_id}/{ref.field}"


def _render_report(d: dict[str, Any]) -> None:
    verb = "à traiter" if d["dry_run"] else "traités"
    what = "Changement de clé" if d["operation"] == "rotate" else "Rechiffrement"
    simulated = " (simulation : rien n'a été modifié)" if d["dry_run"] else ""
    console.print(f"{what} terminé en {d['duration_s']:.1f} s{simulated}.")
    if d["resumed_after"]:
        console.print(f"  reprise après : {d['resumed_after']}")
    console.print(f"  secrets parcourus : {d['scanned']}")
    console.print(f"  secrets {verb} : {d['changed']}")
    if d["operation"] == "rotate":
        console.print(f"  déjà sous la clé active : {d['unchanged']}")
    if d["vanished"]:
        console.print(f"  supprimés entre-temps : {d['vanished']}")
    for ref in d["failed"]:
        console.print(f"  illisible : {ref['table']}/{ref['row_id']}/{ref['field']}")
    for ref in d["contended"]:
        console.print(f"  modifié sans cesse, à reprendre : {ref['table']}/{ref['row_id']}")
    console.print(f"  clé active : {d['active_key_id']}")


COMMANDS = [vault_group]

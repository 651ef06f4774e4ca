"""Opening dsnlink for a command, the web server or a worker: database, vault, services.

:func:`open_app` is the one entry point: it finds the database (``DSNLINK_DATABASE_URL``,
else the address recorded by ``dsnlink init --database-url``, else the SQLite file of the
data folder), refuses a schema revision other than this program's, and builds the services.
The vault is opened on first use, so that commands that touch no secret work even where the
master key is not available.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dsnlink.accounts import Accounts, PasswordHasher
from dsnlink.accounts.base import Services, audit
from dsnlink.accounts.users import UserService
from dsnlink.accounts.validation import check_local_password, check_text
from dsnlink.errors import Conflict, InstallationMissing, InvalidInput
from dsnlink.jobs.queue_schema import ensure_queue_schema
from dsnlink.settings import Settings
from dsnlink.store import Database, SqlSealedSecretStore, SqlStore, check_schema, open_database
from dsnlink.store.records import Installation, Mode
from dsnlink.store.schema import current_revision, upgrade
from dsnlink.store.sql import utc_now
from dsnlink.vault import SecretRef, Vault, open_vault
from dsnlink.vault.keys import KeySource, create_master_key, find_keyring

#: The réseau database address, recorded by ``init`` in the data folder (mode 0600: it may
#: hold the database password, like a .pgpass file).
DATABASE_URL_FILE = "database.url"


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    recorded = settings.data_dir / DATABASE_URL_FILE
    if recorded.is_file():
        return recorded.read_text(encoding="utf-8").strip()
    return settings.effective_database_url


class _VaultOnDemand:
    """The vault, opened when a secret is first sealed or opened (the master key is needed
    only then)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._settings = settings
        self._db = db
        self._vault: Vault | None = None

    def get(self) -> Vault:
        if self._vault is None:
            self._vault = open_vault(self._settings, SqlSealedSecretStore(self._db))
        return self._vault

    def seal(self, ref: SecretRef, plaintext: bytes) -> bytes:
        return self.get().seal(ref, plaintext)

    def open(self, ref: SecretRef, blob: bytes) -> bytes:
        return self.get().open(ref, blob)


@dataclass
class App:
    settings: Settings
    db: Database
    store: SqlStore
    accounts: Accounts
    installation: Installation
    schema_revision: str
    _vault: _VaultOnDemand = field(repr=False)

    @property
    def vault(self) -> Vault:
        return self._vault.get()

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _open_db(settings: Settings, *, must_exist: bool) -> Database:
    url = database_url(settings)
    db = open_database(url)
    path = db.sqlite_path
    if must_exist and path is not None and not path.exists():
        db.dispose()
        raise InstallationMissing(data_dir=str(settings.data_dir))
    return db


def _build(settings: Settings, db: Database, revision: str) -> App:
    store = SqlStore(db)
    vault = _VaultOnDemand(settings, db)
    accounts = Accounts.build(store, vault, hasher=PasswordHasher(settings.password_hash_profile))
    with store.read() as r:
        installation = r.installation.get()
    if installation is None:
        db.dispose()
        raise InstallationMissing(database=db.describe())
    return App(settings, db, store, accounts, installation, revision, vault)


def open_app(settings: Settings) -> App:
    """The installation of ``settings``, checked: schema revision, installation row."""
    db = _open_db(settings, must_exist=True)
    try:
        revision = check_schema(db)
    except BaseException:
        db.dispose()
        raise
    return _build(settings, db, revision)


def upgrade_database(settings: Settings) -> tuple[str | None, str]:
    """``dsnlink upgrade``: apply the migrations this program ships; (before, after)."""
    db = _open_db(settings, must_exist=True)
    try:
        if current_revision(db) is None:
            check_schema(db)  # an empty database: no installation here, say so
        result = upgrade(db)
        ensure_queue_schema(db)  # réseau: the job queue of ``dsnlink worker``
        return result
    finally:
        db.dispose()


def init_installation(
    settings: Settings,
    *,
    name: str,
    admin_password: str,
    tiers_de_confiance: str | None = None,
    database_url_option: str | None = None,
) -> App:
    """Create an installation: schema, master key (unless one exists), the Administrateur.

    Monoposte: SQLite in the data folder. Réseau: ``database_url_option`` (PostgreSQL),
    recorded in the data folder for the next commands of this workstation. Everything is
    checked before anything is written; the rows are written in one transaction.
    """
    check_text(name, field="name", label="Le nom de l'installation", max_len=200)
    if tiers_de_confiance is not None:
        check_text(
            tiers_de_confiance,
            field="tiers_de_confiance",
            label="Le nom du tiers de confiance",
            max_len=200,
        )
    check_local_password(admin_password)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if database_url_option is None:
        db = _open_db(settings, must_exist=False)
    else:
        db = open_database(database_url_option)
        if db.is_sqlite:
            db.dispose()
            raise InvalidInput(
                "Une installation réseau utilise PostgreSQL (postgresql://…).",
                remedy="Sans --database-url, l'installation est monoposte (SQLite).",
            )
    mode = Mode.MONOPOSTE if db.is_sqlite else Mode.RESEAU
    try:
        _refuse_existing(db)
        _, revision = upgrade(db)
        ensure_queue_schema(db)
        if settings.master_key is None and find_keyring(settings) is None:
            # Réseau: a key file (0600), to copy to every workstation and worker; an OS
            # keyring would tie the key to this machine's session.
            create_master_key(settings, where=KeySource.FILE if mode is Mode.RESEAU else None)
        if database_url_option is not None:
            _record_database_url(settings, database_url_option)
        store = SqlStore(db)
        ctx = Services(store, PasswordHasher(settings.password_hash_profile), utc_now)
        with store.write() as r:
            r.installation.create(
                name=name, mode=mode, tiers_de_confiance=tiers_de_confiance, now=utc_now()
            )
            admin = UserService(ctx).create_builtin_admin(r, admin_password)
            audit(
                r,
                ctx,
                admin,
                "installation.init",
                "installation",
                "1",
                name=name,
                mode=mode.value,
                tiers_de_confiance=tiers_de_confiance,
            )
    except BaseException:
        db.dispose()
        raise
    return _build(settings, db, revision)


def _refuse_existing(db: Database) -> None:
    if current_revision(db) is None:
        return
    check_schema(db)
    with SqlStore(db).read() as r:
        if r.installation.get() is not None:
            raise Conflict(
                "Une installation dsnlink existe déjà dans cette base de données.",
                remedy="Utilisez-la, ou choisissez un autre dossier de données.",
                database=db.describe(),
            )


def _record_database_url(settings: Settings, url: str) -> None:
    path: Path = settings.data_dir / DATABASE_URL_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(url + "\n")
    path.chmod(0o600)

"""Master keys: what they are, where they live, how they are created, saved and exported.

A :class:`MasterKey` is 32 random bytes and a short id derived from them. A :class:`KeyRing`
holds the active key (which seals) and retired keys (which still open blobs sealed before a
rotation). Providers, tried in this order by :func:`load_keyring`:

1. ``DSNLINK_MASTER_KEY``: base64 of 32 bytes, or several separated by commas (the first is
   active), or the text of an export;
2. the key file (``settings.effective_master_key_file``), mode 0600;
3. the OS keyring, when ``settings.keyring`` is true and a real backend is available.

No key found is an error (fail closed): never a plaintext fallback, never a silent new key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from dsnlink.errors import MasterKeyError
from dsnlink.redaction import register_secret
from dsnlink.settings import Settings
from dsnlink.vault import keyfile, oskeyring

KEY_BYTES = 32
FILE_FORMAT = "dsnlink-master-keys"
FILE_VERSION = 1

EXPORT_WARNING = (
    "ATTENTION : ce qui suit est la clé maîtresse de dsnlink, en clair. Avec elle et une copie "
    "de la base de données, n'importe qui peut lire tous les mots de passe Net-entreprises "
    "enregistrés. Conservez-la hors ligne (coffre, clé USB chiffrée, gestionnaire de mots de "
    "passe), jamais à côté des sauvegardes de la base, et ne l'envoyez ni par courriel ni par "
    "messagerie."
)


class KeySource(StrEnum):
    ENV = "env"
    FILE = "file"
    KEYRING = "keyring"


def key_id_for(material: bytes) -> str:
    """A short public name for a key: a hash prefix (reveals nothing usable about the key)."""
    return hashlib.sha256(b"dsnlink master key id\x00" + material).hexdigest()[:8]


@dataclass(frozen=True, repr=False)
class MasterKey:
    material: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise MasterKeyError(
                f"Une clé maîtresse doit faire {KEY_BYTES} octets.",
                remedy="Vérifiez la valeur copiée (base64 de 32 octets, sans espace ajouté).",
            )
        object.__setattr__(self, "key_id", key_id_for(self.material))

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES))

    def encoded(self) -> str:
        return base64.b64encode(self.material).decode("ascii")

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


@dataclass(frozen=True, repr=False)
class KeyRing:
    active: MasterKey
    retired: tuple[MasterKey, ...] = ()
    #: Where the ring was read from: where :func:`save_keyring` writes it back.
    source: KeySource | None = None

    def get(self, key_id: str) -> MasterKey | None:
        if key_id == self.active.key_id:
            return self.active
        return next((k for k in self.retired if k.key_id == key_id), None)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return (self.active.key_id, *(k.key_id for k in self.retired))

    def rotated(self, new: MasterKey) -> KeyRing:
        """``new`` becomes active; the previous active key is kept, retired."""
        keep = [k for k in (self.active, *self.retired) if k.key_id != new.key_id]
        return KeyRing(new, tuple(keep), self.source)

    def without(self, key_ids: Iterable[str]) -> KeyRing:
        drop = set(key_ids)
        if self.active.key_id in drop:
            raise MasterKeyError("La clé maîtresse active ne peut pas être oubliée.")
        kept = tuple(k for k in self.retired if k.key_id not in drop)
        return KeyRing(self.active, kept, self.source)

    def __repr__(self) -> str:
        retired = [k.key_id for k in self.retired]
        active = self.active.key_id
        return f"KeyRing(active={active!r}, retired={retired!r}, source={self.source!s})"


# --- text forms ------------------------------------------------------------------------------


def dumps_keyring(ring: KeyRing) -> str:
    """The text of a key file, an OS keyring entry or an export."""
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "active": ring.active.key_id,
        "keys": {k.key_id: k.encoded() for k in (ring.active, *ring.retired)},
    }
    return json.dumps(doc, indent=2) + "\n"


def loads_keyring(text: str, source: KeySource, *, where: str) -> KeyRing:
    """Parse a key file / keyring entry / export, or the value of ``DSNLINK_MASTER_KEY``."""
    text = text.strip()
    try:
        if text.startswith("{"):
            ring = _loads_document(text, source)
        else:
            keys = [_decode_key(part) for part in text.split(",") if part.strip()]
            if not keys:
                raise ValueError("empty")
            ring = KeyRing(keys[0], tuple(keys[1:]), source)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise MasterKeyError(
            f"La clé maîtresse ({where}) est mal formée.",
            remedy=(
                "Attendu : la base64 de 32 octets (plusieurs séparées par des virgules, la "
                "première active) ou le texte d'un export « dsnlink vault export-key »."
            ),
            where=where,
        ) from exc
    for key in (ring.active, *ring.retired):
        # Master keys must never print, wherever they end up (logs, crash output).
        register_secret(key.encoded())
    return ring


def _loads_document(text: str, source: KeySource) -> KeyRing:
    doc = json.loads(text)
    if doc.get("format") != FILE_FORMAT or doc.get("version") != FILE_VERSION:
        raise ValueError("unknown key file format")
    keys = {key_id: _decode_key(value) for key_id, value in doc["keys"].items()}
    for key_id, key in keys.items():
        if key.key_id != key_id:
            raise ValueError("key id does not match its key")
    active = keys.pop(doc["active"])
    return KeyRing(active, tuple(keys.values()), source)


def _decode_key(text: str) -> MasterKey:
    material = base64.b64decode(text.strip(), validate=True)
    if len(material) != KEY_BYTES:
        raise ValueError("wrong key length")
    return MasterKey(material)


# --- providers -------------------------------------------------------------------------------


def find_keyring(settings: Settings) -> KeyRing | None:
    """The key ring from the first provider that has one; None if none has any.

    A provider that has a key but cannot deliver it (malformed, too permissive, keyring
    locked) is an error, not a reason to try the next one.
    """
    if settings.master_key is not None:
        return loads_keyring(
            settings.master_key.get_secret_value(), KeySource.ENV, where="DSNLINK_MASTER_KEY"
        )
    path = settings.effective_master_key_file
    if path.exists():
        return loads_keyring(keyfile.read_private(path), KeySource.FILE, where=str(path))
    text = oskeyring.read(settings)
    if text is not None:
        return loads_keyring(text, KeySource.KEYRING, where="trousseau de clés du système")
    return None


def load_keyring(settings: Settings) -> KeyRing:
    ring = find_keyring(settings)
    if ring is None:
        raise MasterKeyError(
            "Aucune clé maîtresse n'a été trouvée : les secrets enregistrés ne peuvent pas être "
            "lus, et aucun nouveau secret ne sera enregistré sans chiffrement.",
            remedy=(
                "Définissez DSNLINK_MASTER_KEY, ou restaurez le fichier de clé "
                f"{settings.effective_master_key_file} depuis votre copie de secours "
                "(« dsnlink vault export-key »). Pour une nouvelle installation : « dsnlink init »."
            ),
            path=str(settings.effective_master_key_file),
        )
    return ring


def default_source(settings: Settings) -> KeySource:
    """Where a new key goes: the OS keyring on a desktop that has one, else the key file."""
    return KeySource.KEYRING if oskeyring.available(settings) else KeySource.FILE


def create_master_key(settings: Settings, *, where: KeySource | None = None) -> KeyRing:
    """Create and store a new master key. Never replaces an existing one."""
    if settings.master_key is not None:
        raise MasterKeyError(
            "DSNLINK_MASTER_KEY est défini : la clé maîtresse vient de là, aucune n'est créée.",
            remedy="Retirez cette variable pour créer une clé dans le fichier ou le trousseau.",
        )
    existing = find_keyring(settings)
    if existing is not None:
        raise MasterKeyError(
            f"Une clé maîtresse existe déjà ({existing.source}) : elle n'est pas remplacée.",
            remedy="Pour en changer, utilisez « dsnlink vault rotate-master-key ».",
        )
    source = where or default_source(settings)
    if source is KeySource.ENV:
        raise MasterKeyError("Une clé ne peut pas être enregistrée dans DSNLINK_MASTER_KEY.")
    ring = KeyRing(MasterKey.generate(), (), source)
    register_secret(ring.active.encoded())
    if source is KeySource.FILE:
        path = settings.effective_master_key_file
        keyfile.write_private(path, dumps_keyring(ring), exclusive=True)
    else:
        oskeyring.write(settings, dumps_keyring(ring))
    return ring


def save_keyring(settings: Settings, ring: KeyRing) -> None:
    """Write ``ring`` back where it was read from (atomically for the key file)."""
    if ring.source is KeySource.FILE:
        path = settings.effective_master_key_file
        keyfile.write_private(path, dumps_keyring(ring), exclusive=False)
    elif ring.source is KeySource.KEYRING:
        oskeyring.write(settings, dumps_keyring(ring))
    else:
        raise MasterKeyError(
            "La clé maîtresse vient de DSNLINK_MASTER_KEY : dsnlink ne peut pas la modifier.",
            remedy=(
                "Générez une nouvelle clé, mettez DSNLINK_MASTER_KEY=« nouvelle,ancienne » sur "
                "chaque poste, puis lancez « dsnlink vault rotate-master-key --resume »."
            ),
        )


def export_master_key(ring: KeyRing, to: Path | None = None) -> str:
    """The export text of ``ring`` (every key, retired ones included: old backups need them).

    With ``to``, it is also written there, mode 0600, never over an existing file. Callers
    show :data:`EXPORT_WARNING` to the person first.
    """
    text = dumps_keyring(ring)
    if to is not None:
        keyfile.write_private(to, text, exclusive=True)
    return text

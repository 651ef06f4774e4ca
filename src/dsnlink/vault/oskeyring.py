"""The OS keyring provider (desktops): Windows Credential Locker, macOS Keychain, Secret Service.

Only a real backend is used: keyring's "fail" and "null" backends, and the plaintext or
obfuscated file backends of ``keyrings.alt``, are treated as "no keyring" (they would be a
plaintext fallback under another name). Library errors become :class:`MasterKeyError`.
"""

from __future__ import annotations

from typing import Any

from dsnlink.errors import MasterKeyError
from dsnlink.settings import Settings

SERVICE = "dsnlink"

_NOT_REAL = {
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
}


def _username(settings: Settings) -> str:
    # One entry per data folder: two installations on one desktop keep separate keys.
    return f"master-key:{settings.data_dir.expanduser().resolve()}"


def _backend() -> Any | None:
    try:
        import keyring
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a keyring that cannot even load counts as none
        return None
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if name in _NOT_REAL or type(backend).__module__.startswith("keyrings.alt"):
        return None
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        return None
    try:
        priority = float(backend.priority)
    except Exception:  # noqa: BLE001 - a backend that cannot tell is not trusted
        return None
    return backend if priority > 0 else None


def available(settings: Settings) -> bool:
    return settings.keyring and _backend() is not None


def backend_name() -> str | None:
    backend = _backend()
    return None if backend is None else type(backend).__qualname__


def read(settings: Settings) -> str | None:
    backend = _backend()
    if not settings.keyring or backend is None:
        return None
    try:
        value = backend.get_password(SERVICE, _username(settings))
    except Exception as exc:
        raise _keyring_error("lire") from exc
    return value if isinstance(value, str) else None


def write(settings: Settings, text: str) -> None:
    backend = _backend()
    if not settings.keyring or backend is None:
        raise MasterKeyError(
            "Aucun trousseau de clés du système n'est disponible.",
            remedy="Utilisez le fichier de clé (DSNLINK_KEYRING=false) ou DSNLINK_MASTER_KEY.",
        )
    try:
        backend.set_password(SERVICE, _username(settings), text)
    except Exception as exc:
        raise _keyring_error("enregistrer") from exc


def _keyring_error(verb: str) -> MasterKeyError:
    return MasterKeyError(
        f"Impossible de {verb} la clé maîtresse dans le trousseau de clés du système.",
        remedy=(
            "Déverrouillez le trousseau (session ouverte) et réessayez, ou utilisez le fichier "
            "de clé (DSNLINK_KEYRING=false)."
        ),
    )

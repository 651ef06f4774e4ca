"""A canary secret and a canary master key never show in logs, reprs, errors or blobs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from dsnlink.errors import DecryptionFailed
from dsnlink.logs import configure_logging, get_logger
from dsnlink.settings import Settings
from dsnlink.vault import open_vault
from dsnlink.vault.keys import create_master_key, load_keyring
from dsnlink.vault.memory import MemorySealedSecretStore
from dsnlink.vault.protocols import SecretRef

CANARY = "CANARY-s3cr3t-vault-5d1e"
REF = SecretRef("identities", "7", "password")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    # configure_logging binds the captured stderr: undo it so later tests do not write there.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_canary_never_leaks(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings()
    ring = create_master_key(settings)
    key_text = ring.active.encoded()
    store = MemorySealedSecretStore()
    vault = open_vault(settings, store)
    vault.put_secret(REF, CANARY)

    blob = store.get_sealed(REF) or b""
    assert CANARY.encode() not in blob
    assert ring.active.material not in blob

    configure_logging("DEBUG", json=True)
    log = get_logger("test.vault")
    secret = vault.get_secret(REF)
    log.info("login_attempt", detail=f"using {secret}", key=key_text, note=f"key {key_text}")
    try:
        raise RuntimeError(f"portal said no to {secret}")
    except RuntimeError:
        log.exception("crash")
    with pytest.raises(DecryptionFailed) as info:
        vault.get_secret(REF) and vault.open(SecretRef("identities", "8", "password"), blob)
    log.error("decrypt", error=str(info.value), context=info.value.to_dict())

    captured = capsys.readouterr()
    texts = [
        captured.out,
        captured.err,
        repr(vault),
        str(vault),
        repr(load_keyring(settings)),
        repr(store),
        str(info.value),
        repr(info.value.to_dict()),
    ]
    assert "login_attempt" in captured.err and "crash" in captured.err
    for text in texts:
        assert CANARY not in text
        assert key_text not in text

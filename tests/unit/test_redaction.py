from __future__ import annotations

import json

from dsnlink import errors
from dsnlink.redaction import MASK, redact, redact_text, register_secret


def test_registered_value_is_masked_everywhere() -> None:
    register_secret("Canary-Redaction-42")
    assert redact_text("login failed with Canary-Redaction-42 !") == f"login failed with {MASK} !"
    nested = {"detail": ["x Canary-Redaction-42 y"], "n": 3}
    assert "Canary" not in json.dumps(redact(nested))


def test_secret_keys_are_masked() -> None:
    out = redact({"password": "abc", "motdepasse": "def", "Authorization": "x", "siret": "123"})
    assert out == {"password": MASK, "motdepasse": MASK, "Authorization": MASK, "siret": "123"}


def test_api_dsn_shapes_are_masked() -> None:
    text = "Authorization: DSNLogin jeton=QUJDREVGRw== <motdepasse>zz</motdepasse>"
    out = redact_text(text)
    assert "QUJDREVGRw" not in out and "zz" not in out


def test_error_tree_has_french_messages_and_stable_codes() -> None:
    seen: set[str] = set()
    stack: list[type[errors.DsnlinkError]] = [errors.DsnlinkError]
    while stack:
        cls = stack.pop()
        assert cls.code not in seen, cls
        seen.add(cls.code)
        assert cls.default_message
        stack.extend(cls.__subclasses__())
    exc = errors.WrongCredentials(siret="99900000300015")
    assert exc.to_dict()["code"] == "portal.wrong_credentials"
    assert isinstance(exc, errors.CredentialError)
    assert not exc.retryable

"""The deposit call without I/O: the request to send and the reading of its answer.

A deposit can never be withdrawn and a POST is never sent twice blindly. When no answer can be
trusted (a timeout or reset after sending, a gateway error, an acknowledgement that cannot be
read) the call raises :class:`~dsnlink.errors.DepositFateUnknown`: the pipeline then looks for
the flow in the deposit listing before anything is sent again. Raising (rather than returning a
third state) keeps every caller from mistaking "unknown" for "accepted".
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dsnlink.errors import (
    BadRequest,
    DepositFateUnknown,
    InvalidInput,
    NetworkError,
    PortalError,
    ReturnParseError,
    ServiceUnavailable,
)
from dsnlink.portal.answers import error_for
from dsnlink.portal.endpoints import ApiVersion, Endpoints
from dsnlink.portal.identity import Token
from dsnlink.portal.wire import Answer, PortalRequest, auth_header, base_headers
from dsnlink.returns import DepositReport, parse_deposit_report

CALL = "deposit"
_DECLARATION = re.compile(rb"(?:^|\n)S20\.G00\.05\.001,")


@dataclass(frozen=True, slots=True)
class Anomaly:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DepositResult:
    """What the portal said about one deposit (AEE: accepted, ARE: rejected)."""

    idflux: str
    state: Literal["accepted", "rejected"]
    received_at: datetime | None
    anomalies: tuple[Anomaly, ...]
    #: ``True`` for a test file, ``False`` for a real one, ``None`` when not echoed (ARE).
    test: bool | None
    #: The AEE or ARE document itself, to keep.
    report: bytes

    @property
    def accepted(self) -> bool:
        return self.state == "accepted"


def dsn_payload(dsn: bytes | str) -> bytes:
    """The DSN as ISO-8859-1 bytes, checked for what the portal would reject outright."""
    if isinstance(dsn, str):
        try:
            data = dsn.encode("iso-8859-1")
        except UnicodeEncodeError as exc:
            raise InvalidInput(
                "Le fichier DSN contient des caractères impossibles à écrire en ISO-8859-1.",
                remedy="Retirez ces caractères (émojis, guillemets typographiques...).",
                position=exc.start,
            ) from exc
    else:
        data = dsn
    if not data.strip():
        raise InvalidInput("Le fichier DSN est vide.", remedy="Choisissez le bon fichier.")
    if len(_DECLARATION.findall(data)) > 1:
        raise InvalidInput(
            "Ce fichier contient plusieurs déclarations : Net-entreprises n'en accepte qu'une "
            "par dépôt.",
            remedy="Scindez le fichier en un envoi par déclaration avant de le déposer.",
        )
    return data


def deposit_request(
    endpoints: Endpoints, token: Token, payload: bytes, version: ApiVersion | None = None
) -> PortalRequest:
    headers = {
        **base_headers(),
        **auth_header(token.value),
        "Content-Type": "text/plain",
        "Content-Encoding": "gzip",
    }
    # mtime=0: the same file always compresses to the same bytes.
    body = gzip.compress(payload, mtime=0)
    return PortalRequest("POST", endpoints.deposit_url(version), headers, body, call=CALL)


def _result(report: DepositReport, raw: bytes) -> DepositResult:
    if not report.idflux or len(report.idflux) > 50:
        raise ReturnParseError("L'accusé de dépôt ne contient pas d'identifiant de flux valide.")
    return DepositResult(
        idflux=report.idflux,
        state="accepted" if report.accepted else "rejected",
        received_at=report.received_at,
        anomalies=tuple(Anomaly(a.code or "", a.message or "") for a in report.anomalies),
        test={"01": True, "02": False}.get(report.envoi.test_or_real or ""),
        report=raw,
    )


def read_deposit_answer(answer: Answer) -> DepositResult:
    """The result of a deposit answer, or the typed error; see the module doc for "unknown"."""
    if answer.status == 200:
        try:
            return _result(parse_deposit_report(answer.body), answer.body)
        except ReturnParseError as exc:
            raise DepositFateUnknown(
                "Net-entreprises a reçu le dépôt mais son accusé d'enregistrement est illisible.",
                call=CALL,
                status=200,
            ) from exc
    if answer.status == 422 and answer.body.strip():
        try:
            return _result(parse_deposit_report(answer.body), answer.body)
        except ReturnParseError as exc:
            raise BadRequest(
                "Net-entreprises a rejeté le dépôt avec un avis de rejet illisible.",
                call=CALL,
                status=422,
            ) from exc
    error: PortalError = error_for(answer, call=CALL)
    if isinstance(error, ServiceUnavailable) and answer.status >= 500 and answer.status != 503:
        # A 500, 502 or 504 may come after the platform stored the file.
        raise DepositFateUnknown(call=CALL, status=answer.status)
    raise error


def after_network_error(exc: NetworkError) -> PortalError:
    """What a network error during a deposit means: unknown fate if the POST may have left."""
    if exc.context.get("may_have_arrived"):
        return DepositFateUnknown(call=CALL, detail=exc.code)
    return exc

"""The return parser port over :mod:`dsnlink.returns`."""

from __future__ import annotations

from dsnlink.pipeline.ports import ParsedRate, ParsedReturn
from dsnlink.returns import (
    ConformityReport,
    DepositReport,
    PasRateReport,
    ReturnDocument,
    parse,
)


class GipMdsReturnParser:
    def parse(self, data: bytes) -> ParsedReturn:
        return summarise(parse(data))


def summarise(doc: ReturnDocument) -> ParsedReturn:
    anomalies = doc.anomalies
    blocking = sum(1 for a in anomalies if a.blocking)
    declared = None
    if doc.declarations:
        first = doc.declarations[0]
        if first.siren and first.nic:
            declared = first.siren + first.nic
    if isinstance(doc, DepositReport):
        kind, ok = ("AEE", True) if doc.accepted else ("ARE", False)
    elif isinstance(doc, ConformityReport):
        kind, ok = ("CCO", True) if doc.conform else ("BAN", False)
    elif isinstance(doc, PasRateReport):
        return ParsedReturn(
            kind="CRM94",
            ok=doc.state != "KO",
            anomalies=len(anomalies),
            blocking=blocking,
            crm_identifier=doc.identifier,
            rates=tuple(
                ParsedRate(e.nir or e.ntt or "", e.matricule, e.rate)
                for e in doc.employees
                if e.nir or e.ntt
            ),
            declared_siret=declared,
        )
    else:
        kind, ok = (doc.type or "other"), doc.state != "KO"
    return ParsedReturn(
        kind=kind, ok=ok, anomalies=len(anomalies), blocking=blocking, declared_siret=declared
    )

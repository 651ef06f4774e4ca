"""The checker port over :mod:`dsnlink.norme`: validation, summary, splitting."""

from __future__ import annotations

import re

from dsnlink.norme import read_envois, split_envoi, validate
from dsnlink.pipeline.model import CheckResult, Declaration, Employee, Finding

_TEST_LINE = re.compile(rb"^(S10\.G00\.00\.005,')0[12]'", re.MULTILINE)


class NormeChecker:
    def check(self, data: bytes) -> CheckResult:
        report = validate(data)
        declarations: list[Declaration] = []
        for envoi in report.summary.envois if report.summary else []:
            for d in envoi.declarations:
                month = d.month or ""
                declarations.append(
                    Declaration(
                        declared_siret=d.siret or "",
                        month=f"{month[2:4]}/{month[4:8]}" if len(month) == 8 else month,
                        nature=d.nature or "",
                        type=d.type or "",
                        fraction=d.fraction or "11",
                        is_test=bool(envoi.test),
                        employees=tuple(
                            Employee(
                                e.nir or e.ntt or "",
                                e.matricule,
                                " ".join(p for p in (e.last_name, e.first_names) if p) or None,
                            )
                            for e in d.employees
                        ),
                    )
                )
        findings = tuple(
            Finding(f.code, f.severity.value, f.message, f.line, f.rubrique)
            for f in report.findings
        )
        return CheckResult(findings, tuple(declarations))

    def split(self, data: bytes) -> list[bytes]:
        """One-declaration envois written in ISO-8859-1, S90 recomputed."""
        return [part.to_bytes() for envoi in read_envois(data) for part in split_envoi(envoi)]

    def as_test(self, data: bytes) -> bytes:
        return _TEST_LINE.sub(rb"\g<1>01'", data, count=1)

"""The PAS rates the simulated DGFiP gives, deterministic from the NIR so tests can check them.

Formula (documented in docs/simulator.md)::

    h = int.from_bytes(sha256(NIR in ASCII).digest()[:4], "big")
    if h % 20 == 0:  no rate (anomalie: the default scale applies)
    else:            rate = (h % 4301) / 100, written with two decimals ("0.00" to "43.00")

The CRM's 18-digit identifier is ``int(sha256(idflux).hexdigest(), 16) % 10**18`` written on
18 digits with leading zeros.
"""

from __future__ import annotations

import hashlib


def _h(nir: str) -> int:
    return int.from_bytes(hashlib.sha256(nir.encode("ascii", "replace")).digest()[:4], "big")


def pas_rate(nir: str) -> str | None:
    """The rate for this NIR as the CRM writes it (``"14.37"``), or None (no rate given)."""
    h = _h(nir)
    if h % 20 == 0:
        return None
    return f"{(h % 4301) / 100:.2f}"


def crm_identifier(idflux: str) -> str:
    return f"{int(hashlib.sha256(idflux.encode('ascii')).hexdigest(), 16) % 10**18:018d}"

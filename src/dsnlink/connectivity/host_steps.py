"""The steps that check one host: DNS, TCP, TLS, HTTP; and the proxy in front of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from dsnlink.connectivity import http_probe, probes, tls_check
from dsnlink.connectivity.settings import ResolvedConnection
from dsnlink.connectivity.steps import Budget, Outcome, Step, StepContext
from dsnlink.errors import ProxyAuthRequired, ProxyError, RequestRefused, ServiceUnavailable


@dataclass(frozen=True)
class TargetHost:
    """A host the test checks: its role (step id prefix), a French label, a URL on it."""

    role: str
    label: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"


PROXY_GROUP = "Proxy"


def proxy_steps(
    connection: ResolvedConnection, probe_target: TargetHost, budget: Budget
) -> list[Step]:
    """Proxy reachable, then proxy authentication (a CONNECT towards ``probe_target``)."""
    route = connection.proxy_for(probe_target.url)
    if route is None:
        return []

    async def reach(_: StepContext) -> Outcome:
        _reader, writer = await probes.open_proxy(route, connection.ssl_context(), budget.left())
        writer.close()
        how = "en TLS" if route.tls else "sans chiffrement"
        origin = "" if route.origin == "settings" else f" (variable {route.origin})"
        return Outcome.ok(f"Proxy {route.url}{origin} joignable {how}.", proxy=route.url)

    async def authenticate(_: StepContext) -> Outcome:
        try:
            _reader, writer = await probes.open_tunnel(
                route,
                probe_target.host,
                probe_target.port,
                proxy_context=connection.ssl_context(),
                timeout=budget.left(),
            )
        except ProxyAuthRequired:
            raise
        except ProxyError as exc:
            if exc.context.get("status"):
                # The proxy accepted us (no 407) but refuses this destination: said per host.
                return Outcome.ok(
                    "Le proxy accepte la connexion (pas de demande d'authentification).",
                    proxy=route.url,
                )
            raise
        writer.close()
        if route.login:
            return Outcome.ok(f"Le proxy accepte l'identifiant « {route.login} ».")
        return Outcome.ok("Le proxy ne demande pas d'authentification.")

    return [
        Step("proxy.reach", "Proxy joignable", reach, group=PROXY_GROUP),
        Step(
            "proxy.auth", "Authentification au proxy", authenticate, ("proxy.reach",), PROXY_GROUP
        ),
    ]


def host_steps(
    connection: ResolvedConnection,
    target: TargetHost,
    *,
    budget: Budget,
    extra_cas: frozenset[bytes] = frozenset(),
    proxy_checked: bool = False,
) -> list[Step]:
    """DNS, TCP, TLS and HTTP for ``target``, each after the previous one."""
    route = connection.proxy_for(target.url)
    prefix = target.role
    group = target.label
    proxy_deps: tuple[str, ...] = ("proxy.auth",) if route is not None and proxy_checked else ()

    async def dns(_: StepContext) -> Outcome:
        if route is not None:
            return Outcome.skipped(
                f"Le nom {target.host} est résolu par le proxy {route.url}, pas par ce poste."
            )
        addresses = await probes.resolve(target.host, target.port, budget.left())
        return Outcome.ok(f"{target.host} → {', '.join(addresses)}", addresses=list(addresses))

    async def tcp(_: StepContext) -> Outcome:
        if route is None:
            peer = await probes.tcp_connect(target.host, target.port, budget.left())
            return Outcome.ok(f"Connexion TCP à {target.host}:{target.port} ({peer}) établie.")
        _reader, writer = await probes.open_tunnel(
            route,
            target.host,
            target.port,
            proxy_context=connection.ssl_context(),
            timeout=budget.left(),
        )
        writer.close()
        return Outcome.ok(f"Tunnel vers {target.host}:{target.port} ouvert par le proxy.")

    async def tls(_: StepContext) -> Outcome:
        if not target.tls:
            return Outcome.warning(
                f"{target.url} n'est pas en HTTPS : l'échange n'est pas chiffré.",
                "Indiquez une adresse en https://.",
            )
        seen = await probes.tls_probe(
            target.host,
            target.port,
            connection.ssl_context(),
            route=route,
            proxy_context=connection.ssl_context(),
            timeout=budget.left(),
        )
        leaf = tls_check.describe(seen.chain[0]) if seen.chain else None
        verdict = tls_check.judge(
            host=target.host,
            leaf=leaf,
            verified=seen.verified,
            verify_message=seen.verify_message,
            via_proxy=route is not None,
            refuse_interception=connection.profile.refuse_interception,
            issued_by_local_ca=route is not None
            and seen.verified
            and probes.issued_by_local_ca(seen.chain, extra_cas),
            now=datetime.now(UTC),
        )
        data = {
            "protocol": seen.version,
            "cipher": seen.cipher,
            "certificate": leaf.to_dict() if leaf else None,
            "chain": [tls_check.describe(der).subject for der in seen.chain],
            "interception": verdict.interception,
        }
        detail = verdict.detail
        if seen.version:
            detail = f"{seen.version} ; {detail}"
        code = "network.tls_interception" if verdict.interception else "network.tls"
        if verdict.status == "failure":
            return Outcome.failure(detail, verdict.remedy, code, **data)
        if verdict.status == "warning":
            return Outcome.warning(detail, verdict.remedy, **data)
        return Outcome.ok(detail, **data)

    async def http(_: StepContext) -> Outcome:
        answer = await http_probe.get(connection, target.url, timeout=budget.left())
        where = f"{target.url} a répondu {answer.status} {answer.reason}".rstrip()
        data = {"status": answer.status, "server": answer.server}
        if answer.status == 407:
            # Inside the tunnel (or directly): this 407 is the server's, not the proxy's.
            refused = RequestRefused()
            return Outcome.failure(
                f"{where} : {refused.message}", refused.remedy, refused.code, **data
            )
        if answer.status >= 500:
            down = ServiceUnavailable()
            return Outcome.failure(f"{where}.", down.remedy, down.code, **data)
        return Outcome.ok(f"{where} en {answer.elapsed * 1000:.0f} ms.", **data)

    return [
        Step(f"{prefix}.dns", "Résolution DNS", dns, proxy_deps, group),
        Step(
            f"{prefix}.tcp",
            "Connexion TCP" if route is None else "Tunnel par le proxy",
            tcp,
            proxy_deps if route is not None else (f"{prefix}.dns",),
            group,
        ),
        Step(f"{prefix}.tls", "Connexion sécurisée (TLS)", tls, (f"{prefix}.tcp",), group),
        Step(f"{prefix}.http", "Réponse HTTP", http, (f"{prefix}.tls",), group),
    ]

"""The one exception tree of dsnlink.

Every error the project raises on purpose is a :class:`DsnlinkError`. Each class carries a
stable machine ``code`` (English, for logs, ``--json`` output and the JSON API), a
``message`` in plain French for people, and a ``remedy``: what to do about it, in French.
Library errors (httpx, SQLAlchemy, lxml, cryptography...) are translated at the adapter
that calls the library, with ``raise ... from exc``, so callers only ever catch this tree.

Messages must never contain a secret (password, token, master key): the constructor does not
look at them, so the raiser is responsible; the log redaction step is a second net, not the
first.

::

    DsnlinkError
    ├── ConfigurationError                 settings, data folder, installation
    │   ├── InstallationMissing            no installation initialised here
    │   ├── SchemaMismatch                 program and database schema revisions differ
    │   └── MasterKeyError                 master key absent, unreadable, too permissive
    ├── InvalidInput                       a value given by a person or a script is wrong
    │   └── UploadTooLarge                 an uploaded file over the size limit
    ├── AccessError                        local accounts and rights
    │   ├── AuthenticationFailed           wrong login or password (local account)
    │   ├── LoginThrottled                 too many failures: wait
    │   ├── AccountDisabled                the local account is disabled
    │   ├── PermissionDenied               the right needed is missing
    │   ├── NotAuthenticated               web: no valid session (log in first)
    │   ├── ReauthenticationRequired       web: confirm one's own password first
    │   └── CrossSiteRequest               web: a state change coming from another site
    ├── NotFound                           an object that does not exist
    ├── Conflict                           would duplicate or break an invariant
    ├── StoreError                         the database
    │   └── CorruptRecord                  a row that cannot be read back
    ├── VaultError                         encryption at rest
    │   └── DecryptionFailed               wrong key, tampered or moved blob
    ├── NormeError                         DSN files (reading, writing)
    │   └── DsnReadError                   a file that cannot be read as a DSN
    ├── ReturnParseError                   return files (``rapport`` XML)
    │   └── UnsafeXml                      DTD, entities or other hostile XML
    ├── PortalError                        the Net-entreprises API-DSN
    │   ├── CredentialError                never retried: the portal locks accounts
    │   │   ├── WrongCredentials           plain 401: SIRET, nom, prénom or password
    │   │   ├── PasswordExpired            401 realm "Expiration du mot de passe"
    │   │   ├── NotRegisteredForDsn        401 realm "Utilisateur non-inscrit au service"
    │   │   └── AccountLocked              403
    │   ├── TokenRejected                  401 on a business call: token expired/invalid
    │   ├── RequestRefused                 407 from the portal: request judged dangerous
    │   ├── BadRequest                     422 malformed fields
    │   ├── WindowTooWide                  429: listing window wider than allowed
    │   ├── PortalNotFound                 404 on a flow or return: unknown or purged
    │   ├── ServiceUnavailable             404/503/5xx: down or maintenance
    │   ├── ProtocolError                  an answer that does not follow the protocol
    │   ├── DepositFateUnknown             the deposit POST may or may not have arrived
    │   └── NetworkError                   could not talk to the host
    │       ├── DnsError
    │       ├── ConnectError
    │       ├── TlsError
    │       ├── NetworkTimeout
    │       ├── ConnectionLost             connection cut during the exchange
    │       └── ProxyError                 proxy unreachable or 407 from the proxy
    │           └── ProxyAuthRequired      407 from the proxy: login missing or refused
    ├── PipelineError                      deposits, returns, rates
    │   ├── DuplicateDeclaration           a real monthly DSN already deposited for that month
    │   ├── StateConflict                  an envoi moved on meanwhile (another worker)
    │   └── IdentityFailing                credentials refused earlier: nothing is sent
    ├── SimulatorError                     the local Net-entreprises simulator
    └── MaintenanceError                   backups, restores, schedules
        ├── BackupTargetError              backup folder missing, not writable, too full
        ├── BackupCorrupt                  an archive that is truncated, altered or incomplete
        └── BackupToolMissing              pg_dump / pg_restore not installed
"""

from __future__ import annotations

from typing import Any, ClassVar


class DsnlinkError(Exception):
    """Base of every error dsnlink raises on purpose."""

    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "Une erreur est survenue."
    default_remedy: ClassVar[str | None] = None
    #: CLI exit code for this family (documented in docs/cli.md).
    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        message: str | None = None,
        *,
        remedy: str | None = None,
        **context: Any,
    ) -> None:
        self.message = message or self.default_message
        self.remedy = remedy if remedy is not None else self.default_remedy
        #: Extra, non-secret facts for logs and JSON output (field names, ids, statuses).
        self.context = context
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.remedy:
            return f"{self.message} {self.remedy}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of an error (CLI ``--json`` and the web API)."""
        return {
            "code": self.code,
            "message": self.message,
            "remedy": self.remedy,
            "context": {k: _jsonable(v) for k, v in self.context.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


# --- configuration --------------------------------------------------------------------------


class ConfigurationError(DsnlinkError):
    code = "configuration"
    default_message = "La configuration de dsnlink est incorrecte."
    exit_code = 3


class InstallationMissing(ConfigurationError):
    code = "configuration.installation_missing"
    default_message = "Aucune installation dsnlink n'a été trouvée ici."
    default_remedy = "Créez-la avec « dsnlink init »."


class SchemaMismatch(ConfigurationError):
    code = "configuration.schema_mismatch"
    default_message = "La version de la base de données ne correspond pas à celle du programme."
    default_remedy = "Lancez « dsnlink upgrade » ou mettez ce poste à jour."


class MasterKeyError(ConfigurationError):
    code = "configuration.master_key"
    default_message = "La clé maîtresse de chiffrement est introuvable ou inutilisable."
    default_remedy = (
        "Définissez DSNLINK_MASTER_KEY, ou restaurez le fichier de clé créé par « dsnlink init »."
    )


# --- input ----------------------------------------------------------------------------------


class InvalidInput(DsnlinkError):
    code = "invalid_input"
    default_message = "Une valeur saisie est incorrecte."
    exit_code = 2


class UploadTooLarge(InvalidInput):
    code = "invalid_input.upload_too_large"
    default_message = "Le fichier envoyé est trop volumineux."


# --- local accounts and rights --------------------------------------------------------------


class AccessError(DsnlinkError):
    code = "access"
    default_message = "Accès refusé."
    exit_code = 4


class AuthenticationFailed(AccessError):
    code = "access.authentication_failed"
    default_message = "Identifiant ou mot de passe incorrect."


class LoginThrottled(AccessError):
    code = "access.throttled"
    default_message = "Trop d'essais de connexion infructueux."
    default_remedy = "Patientez quelques minutes avant de réessayer."


class AccountDisabled(AccessError):
    code = "access.disabled"
    default_message = "Ce compte utilisateur est désactivé."
    default_remedy = "Demandez à un administrateur de le réactiver."


class PermissionDenied(AccessError):
    code = "access.permission_denied"
    default_message = "Vous n'avez pas le droit d'effectuer cette opération."
    default_remedy = "Demandez le droit nécessaire à un administrateur."


class NotAuthenticated(AccessError):
    code = "access.not_authenticated"
    default_message = "Vous n'êtes pas connecté, ou votre session a expiré."
    default_remedy = "Connectez-vous à nouveau."


class ReauthenticationRequired(AccessError):
    code = "access.reauthentication_required"
    default_message = "Confirmez d'abord votre propre mot de passe dsnlink."
    default_remedy = (
        "Saisissez votre mot de passe dans « Confirmer mon mot de passe », puis recommencez."
    )


class CrossSiteRequest(AccessError):
    code = "access.cross_site"
    default_message = "Requête refusée : elle ne vient pas d'une page de dsnlink."
    default_remedy = "Rechargez la page de dsnlink et recommencez depuis celle-ci."


# --- objects and store ----------------------------------------------------------------------


class NotFound(DsnlinkError):
    code = "not_found"
    default_message = "L'élément demandé n'existe pas."
    exit_code = 5


class Conflict(DsnlinkError):
    code = "conflict"
    default_message = "Cette opération entre en conflit avec l'état actuel."
    exit_code = 6


class StoreError(DsnlinkError):
    code = "store"
    default_message = "Erreur de la base de données."
    exit_code = 7


class CorruptRecord(StoreError):
    code = "store.corrupt_record"
    default_message = "Un enregistrement de la base de données est illisible."
    default_remedy = "Restaurez une sauvegarde ou contactez le support."


# --- vault ----------------------------------------------------------------------------------


class VaultError(DsnlinkError):
    code = "vault"
    default_message = "Erreur du coffre-fort de secrets."
    exit_code = 8


class DecryptionFailed(VaultError):
    code = "vault.decryption_failed"
    default_message = "Un secret chiffré n'a pas pu être déchiffré."
    default_remedy = (
        "Vérifiez que la clé maîtresse est la bonne ; sinon, saisissez à nouveau le secret."
    )


# --- DSN files and return files -------------------------------------------------------------


class NormeError(DsnlinkError):
    code = "norme"
    default_message = "Le fichier DSN est incorrect."
    exit_code = 2


class DsnReadError(NormeError):
    code = "norme.read"
    default_message = "Le fichier ne peut pas être lu comme une DSN."


class ReturnParseError(DsnlinkError):
    code = "returns.parse"
    default_message = "Le fichier retour ne peut pas être lu."
    exit_code = 2


class UnsafeXml(ReturnParseError):
    code = "returns.unsafe_xml"
    default_message = (
        "Le fichier XML contient des constructions dangereuses (DTD, entités) et a été refusé."
    )


# --- the portal (API-DSN) -------------------------------------------------------------------


class PortalError(DsnlinkError):
    code = "portal"
    default_message = "Net-entreprises a renvoyé une erreur."
    exit_code = 10
    #: Whether an automatic retry of the same call is safe and useful.
    retryable: ClassVar[bool] = False


class CredentialError(PortalError):
    """The portal refused the credentials. Never retried: repeated failures lock the account."""

    code = "portal.credentials"
    exit_code = 11


class WrongCredentials(CredentialError):
    code = "portal.wrong_credentials"
    default_message = (
        "Net-entreprises refuse les identifiants : le SIRET, le nom, le prénom ou le mot de passe "
        "ne correspond pas exactement (le portail ne dit pas lequel)."
    )
    default_remedy = (
        "Copiez-collez les quatre valeurs depuis le portail Net-entreprises (majuscules, accents, "
        "espaces), puis enregistrez l'identité à nouveau. Aucun nouvel essai ne sera fait d'ici "
        "là, pour ne pas bloquer votre compte."
    )


class PasswordExpired(CredentialError):
    code = "portal.password_expired"
    default_message = "Le mot de passe Net-entreprises a expiré."
    default_remedy = (
        "Connectez-vous sur net-entreprises.fr pour le renouveler, puis saisissez le nouveau "
        "mot de passe dans dsnlink."
    )


class NotRegisteredForDsn(CredentialError):
    code = "portal.not_registered"
    default_message = "Ce compte Net-entreprises n'est pas inscrit au service DSN."
    default_remedy = (
        "Inscrivez-le au service DSN sur net-entreprises.fr ; l'inscription prend effet le "
        "lendemain."
    )


class AccountLocked(CredentialError):
    code = "portal.account_locked"
    default_message = "Le compte Net-entreprises est bloqué (trop d'essais infructueux)."
    default_remedy = (
        "Débloquez-le sur net-entreprises.fr (« Mot de passe oublié ? ») ou auprès du support "
        "Net-entreprises, puis saisissez à nouveau le mot de passe dans dsnlink."
    )


class TokenRejected(PortalError):
    code = "portal.token_rejected"
    default_message = "Le jeton de session Net-entreprises a expiré ou est invalide."


class RequestRefused(PortalError):
    code = "portal.request_refused"
    default_message = "Net-entreprises a jugé la requête dangereuse et l'a refusée (407)."
    default_remedy = (
        "Vérifiez qu'aucun proxy ne modifie les requêtes ; si le problème persiste, contactez le "
        "support Net-entreprises."
    )


class BadRequest(PortalError):
    code = "portal.bad_request"
    default_message = "Net-entreprises a refusé une donnée mal formée (422)."


class WindowTooWide(PortalError):
    code = "portal.window_too_wide"
    default_message = "La période demandée à Net-entreprises est trop longue (429)."
    default_remedy = "Demandez une période plus courte (par tranches de 60 minutes au plus)."

    @property
    def allowed_minutes(self) -> int | None:
        """The widest window the portal announced (``Accept-Ranges: minutes=0-N``), if any."""
        value = self.context.get("allowed_minutes")
        return value if isinstance(value, int) else None


class PortalNotFound(PortalError):
    code = "portal.not_found"
    default_message = (
        "Net-entreprises ne connaît pas ce flux ou ce retour : identifiant inconnu, ou retour "
        "purgé (la plateforme les garde environ trois mois)."
    )
    default_remedy = (
        "Vérifiez l'identifiant du flux ; un retour purgé ne peut plus être téléchargé, "
        "utilisez la copie gardée par dsnlink."
    )


class ServiceUnavailable(PortalError):
    code = "portal.unavailable"
    default_message = "Le service Net-entreprises est indisponible ou en maintenance."
    default_remedy = "Réessayez plus tard ; dsnlink réessaiera automatiquement."
    retryable = True


class RateLimited(ServiceUnavailable):
    """A 429 that is not about a listing's window: the portal asks to slow down."""

    code = "portal.rate_limited"
    default_message = "Net-entreprises limite le nombre d'appels (429)."
    default_remedy = "dsnlink attend puis réessaie de lui-même ; rien à faire."

    @property
    def retry_after(self) -> int | None:
        """Seconds the portal asked to wait (``Retry-After``), if it said."""
        value = self.context.get("retry_after_seconds")
        return value if isinstance(value, int) else None


class ProtocolError(PortalError):
    code = "portal.protocol"
    default_message = "Net-entreprises a renvoyé une réponse inattendue."
    retryable = True


class DepositFateUnknown(PortalError):
    """The deposit POST was sent but no answer came: it may have arrived. Never re-sent blindly."""

    code = "portal.deposit_fate_unknown"
    default_message = (
        "Le dépôt a été envoyé mais aucune réponse n'est arrivée : on ne sait pas s'il a été reçu."
    )
    default_remedy = (
        "dsnlink vérifie la liste des dépôts sur Net-entreprises avant tout nouvel envoi."
    )


class NetworkError(PortalError):
    code = "network"
    default_message = "Impossible de joindre le serveur."
    default_remedy = "Vérifiez la connexion Internet et les paramètres de connexion (proxy)."
    retryable = True


class DnsError(NetworkError):
    code = "network.dns"
    default_message = "Le nom du serveur n'a pas pu être résolu (DNS)."


class ConnectError(NetworkError):
    code = "network.connect"
    default_message = "La connexion au serveur a échoué."


class TlsError(NetworkError):
    code = "network.tls"
    default_message = "La connexion sécurisée (TLS) a échoué."
    default_remedy = (
        "Vérifiez la date de l'ordinateur et le certificat présenté ; un proxy qui intercepte "
        "le trafic chiffré peut en être la cause."
    )
    retryable = False


class NetworkTimeout(NetworkError):
    code = "network.timeout"
    default_message = "Le serveur n'a pas répondu à temps."
    default_remedy = "Réessayez, ou choisissez le mode de connexion « Étendu »."


class ConnectionLost(NetworkError):
    code = "network.connection_lost"
    default_message = "La connexion a été coupée pendant l'échange avec le serveur."
    default_remedy = "Réessayez ; si cela se répète, vérifiez le réseau ou le proxy."


class ProxyError(NetworkError):
    code = "network.proxy"
    default_message = "Le proxy est injoignable ou refuse la connexion."
    default_remedy = "Vérifiez l'adresse, le port et l'identifiant du proxy."


class ProxyAuthRequired(ProxyError):
    """The proxy itself answered 407 (not the portal, whose 407 is :class:`RequestRefused`)."""

    code = "network.proxy_auth"
    default_message = "Le proxy demande une authentification, ou refuse l'identifiant donné (407)."
    default_remedy = (
        "Indiquez l'identifiant et le mot de passe du proxy (« dsnlink connection set "
        "--proxy-login ») ; demandez-les à votre service informatique."
    )


# --- pipeline and simulator -----------------------------------------------------------------


class PipelineError(DsnlinkError):
    code = "pipeline"
    default_message = "Erreur pendant le traitement des dépôts."
    exit_code = 12


class DuplicateDeclaration(PipelineError):
    code = "pipeline.duplicate_declaration"
    default_message = (
        "Une DSN mensuelle réelle a déjà été déposée pour ce SIRET, ce mois et cette fraction."
    )
    default_remedy = (
        "Pour corriger, déposez une DSN « annule et remplace » (type 03) ; pour passer outre "
        "en connaissance de cause, utilisez --force."
    )
    exit_code = 6


class StateConflict(PipelineError):
    code = "pipeline.state_conflict"
    default_message = "Ce dépôt a changé d'état entre-temps (traité par ailleurs)."
    exit_code = 6


class IdentityFailing(PipelineError):
    code = "pipeline.identity_failing"
    default_message = (
        "Les identifiants Net-entreprises de ce déclarant ont été refusés : les dépôts sont "
        "suspendus pour ne pas bloquer le compte."
    )
    default_remedy = (
        "Corrigez l'identité (« dsnlink identity set ») ; les dépôts suspendus repartiront "
        "ensuite d'eux-mêmes."
    )


class RunnerBusy(PipelineError):
    """The single-runner lock of the database is held (a ``dsnlink run``, or workers)."""

    code = "pipeline.runner_busy"
    default_message = "Un autre « dsnlink run » travaille déjà sur cette installation."
    default_remedy = "Arrêtez-le ou attendez qu'il ait fini."


class WorkerError(PipelineError):
    """Réseau workers: wrong kind of installation, job queue missing, a runner in the way."""

    code = "pipeline.worker"
    default_message = "Le worker ne peut pas démarrer."


class SimulatorError(DsnlinkError):
    code = "simulator"
    default_message = "Erreur du simulateur Net-entreprises."
    exit_code = 13


# --- maintenance: backups and restores ------------------------------------------------------


class MaintenanceError(DsnlinkError):
    code = "maintenance"
    default_message = "Erreur pendant une opération de maintenance."
    exit_code = 14


class BackupTargetError(MaintenanceError):
    code = "maintenance.backup_target"
    default_message = "Le dossier de sauvegarde n'est pas utilisable."
    default_remedy = (
        "Vérifiez le dossier, ou choisissez-en un autre avec « dsnlink backup schedule set --to "
        "DOSSIER »."
    )


class BackupCorrupt(MaintenanceError):
    code = "maintenance.backup_corrupt"
    default_message = "Cette sauvegarde est endommagée ou incomplète : elle ne peut pas servir."
    default_remedy = "Utilisez une autre sauvegarde (« dsnlink backup list »)."


class BackupInProgress(MaintenanceError):
    code = "maintenance.backup_in_progress"
    default_message = "Une sauvegarde ou une vérification est déjà en cours."
    default_remedy = "Attendez qu'elle se termine : la page des sauvegardes montre où elle en est."


class BackupToolMissing(MaintenanceError):
    code = "maintenance.tool_missing"
    default_message = "Un outil PostgreSQL nécessaire à la sauvegarde est introuvable."
    default_remedy = (
        "Installez le client PostgreSQL (paquet postgresql-client), de la même version que le "
        "serveur ou plus récente."
    )

"""Domain errors, and how each becomes a SCIM Error or an admin-API error body: in one place.

Services raise DomainError subclasses (or, for SCIM protocol rules, scim2-models'
SCIMException subclasses). The web layer never builds error bodies itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from scim2_models import SCIMException

from .domain.billing import ReductionDuringTerm
from .domain.plans import AllocationError
from .domain.roles import NotPermitted
from .domain.seats import SeatUnavailable, UnknownSeatType


class DomainError(Exception):
    """An error that is part of the interface: a stable code, a status, a clear message."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    # RFC 7644 §3.12 keyword, when the error has one on /scim/v2.
    scim_type: ClassVar[str | None] = None

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """No such thing in the caller's organization (another organization's is the same answer)."""

    code = "not_found"
    status = 404


class UnknownOrganization(NotFound):
    """No organization by the slug an operator named."""


class UnknownMember(NotFound):
    """No member by the userName or email an operator named."""


class Duplicate(DomainError):
    """A uniqueness rule would break (RFC 7644 §3.3: 409 with scimType uniqueness)."""

    code = "duplicate"
    status = 409
    scim_type = "uniqueness"


class VersionMismatch(DomainError):
    """If-Match named a version that is not current (RFC 7644 §3.14: 412)."""

    code = "precondition_failed"
    status = 412


class InvalidInput(DomainError):
    """A value the request may not have; `fields` maps each dotted field path to its messages."""

    code = "invalid_input"
    status = 422
    scim_type = "invalidValue"


class Unauthorized(DomainError):
    """No valid token: missing, unknown, revoked, of another kind, or a deactivated member's."""

    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    """The caller's role may not do this; `required_role` names the least role that may."""

    code = "forbidden"
    status = 403


class NoSeat(DomainError):
    """SEATS.md §4: no seat of the requested type; the details say what was purchased and held."""

    code = "seat_unavailable"
    status = 409


class ReductionRefused(InvalidInput):
    """Seats cannot be removed during the annual term (SEATS.md §2)."""

    code = "reduction_during_term"


class ValueTooLong(InvalidInput):
    """A string longer than its column holds (README "Limits"); SCIM's 400 invalidValue."""

    code = "value_too_long"


class PayloadTooLarge(DomainError):
    """A body over an endpoint's own limit (a mapping file: 256 KiB)."""

    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(DomainError):
    """A body of a Content-Type the endpoint does not read; the details list those it does."""

    code = "unsupported_media_type"
    status = 415


class NotAcceptable(DomainError):
    """An Accept header naming no type the endpoint answers in."""

    code = "not_acceptable"
    status = 406


class MalformedBody(DomainError):
    """A request body that is not JSON at all (the admin API's 400; shape errors are 422)."""

    code = "malformed_json"
    status = 400
    scim_type = "invalidSyntax"


class NestingTooDeep(MalformedBody):
    """JSON nesting objects and arrays past the limit (inputs.MAX_JSON_DEPTH)."""

    code = "nesting_too_deep"


class ForbiddenCharacter(DomainError):
    """A NUL or a lone surrogate in a string: text neither database stores (inputs.py)."""

    code = "forbidden_character"
    status = 400
    scim_type = "invalidValue"


# --- requests gunicorn refuses before the application sees them (scim_server/serving.py) -----


class MalformedRequest(DomainError):
    """Not HTTP/1.1 (RFC 9112): a byte not allowed in the request line or a header, say."""

    code = "malformed_request"
    status = 400


class RequestLineTooLong(DomainError):
    """A request line (method, path, query string) longer than gunicorn reads (serving.py)."""

    code = "request_line_too_long"
    status = 414


class HeadersTooLarge(DomainError):
    """Header fields larger, or more of them, than gunicorn reads (serving.py)."""

    code = "headers_too_large"
    status = 431


class ExpectationFailed(DomainError):
    code = "expectation_failed"
    status = 417


class TransferCodingNotImplemented(DomainError):
    """RFC 9112 §6.1: a transfer coding the server does not understand."""

    code = "transfer_coding_not_implemented"
    status = 501


class InternalError(DomainError):
    code = "internal"
    status = 500


# --- the operator's commands (cli.py maps each to its exit code, README "Exit codes") -----------


class UsageError(DomainError):
    """A command line that cannot run as written: a malformed value, a file it cannot read."""

    code = "usage"
    status = 400


class DatabaseUnavailable(DomainError):
    """The database cannot be reached, or failed a statement for a reason of its own."""

    code = "database_unavailable"
    status = 503


class SchemaNotCurrent(DatabaseUnavailable):
    """No schema yet, or not this code's: `scim-server db upgrade` (or a newer server) fixes it."""

    code = "schema_not_current"


# --- sign-in through OIDC (SEATS.md §6): each failed check has its own code ---------------------


class SecretKeyMissing(DomainError):
    """The deployment has no SCIM_SERVER_SECRET_KEY: client secrets and cookies need it."""

    code = "secret_key_missing"
    status = 503


class ProviderUnavailable(DomainError):
    """The identity provider's discovery, keys or token endpoint failed or lied."""

    code = "oidc_provider_unavailable"
    status = 502


class SignInStateInvalid(DomainError):
    """No sign-in in progress: the state cookie is missing, expired or tampered with."""

    code = "sign_in_state_invalid"
    status = 400


class StateMismatch(SignInStateInvalid):
    code = "state_mismatch"


class ProviderDenied(Unauthorized):
    """The provider answered the callback with an error (RFC 6749 §4.1.2.1)."""

    code = "provider_denied"


class CodeRejected(Unauthorized):
    """The token endpoint refused the authorization code (RFC 6749 §5.2)."""

    code = "code_rejected"


class IdTokenInvalid(Unauthorized):
    code = "id_token_invalid"


class IdTokenSignatureInvalid(IdTokenInvalid):
    code = "id_token_signature_invalid"


class IdTokenAlgorithmRefused(IdTokenInvalid):
    code = "id_token_algorithm_refused"


class IdTokenIssuerMismatch(IdTokenInvalid):
    code = "id_token_issuer_mismatch"


class IdTokenAudienceMismatch(IdTokenInvalid):
    code = "id_token_audience_mismatch"


class IdTokenExpired(IdTokenInvalid):
    code = "id_token_expired"


class IdTokenNonceMismatch(IdTokenInvalid):
    code = "id_token_nonce_mismatch"


class SignInRefused(Forbidden):
    """A verified identity that may not sign in to this organization."""

    code = "sign_in_refused"


class EmailMissing(SignInRefused):
    code = "email_missing"


class EmailUnverified(SignInRefused):
    code = "email_unverified"


class EmailDomainRefused(SignInRefused):
    code = "email_domain_not_allowed"


class MemberDeactivated(SignInRefused):
    code = "member_deactivated"


class IdentityConflict(SignInRefused):
    code = "identity_conflict"


class SessionRequired(Unauthorized):
    code = "session_required"


# --- the console (docs/console.md) ------------------------------------------------------------


class SignInLinkInvalid(DomainError):
    """A console sign-in link that is unknown, used, expired or another organization's: one
    answer for all, so that a link's fate tells its holder nothing more."""

    code = "sign_in_link_invalid"
    status = 400


class CsrfRefused(DomainError):
    """A console form sent without this session's CSRF token (from another site, or from a
    page older than the session)."""

    code = "csrf_token_invalid"
    status = 400


class NextRefused(DomainError):
    """A `next` that does not point inside this organization's console (no open redirect)."""

    code = "next_not_allowed"
    status = 400


# The domain's own exceptions (plain Python, no HTTP) and what each means at the boundary.
DOMAIN_EXCEPTIONS = (SeatUnavailable, UnknownSeatType, AllocationError, NotPermitted)
# Everything a blueprint renders as an error of its protocol (the rest is a 500).
HANDLED_ERRORS: tuple[type[Exception], ...] = (DomainError, *DOMAIN_EXCEPTIONS)


def translate(exc: Exception) -> DomainError:
    """A domain exception as the DomainError the web layers render."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, SeatUnavailable):
        return NoSeat(
            f"{exc}; an owner can purchase more seats",
            seat_type=exc.seat_type,
            purchased=exc.purchased,
            assigned=exc.assigned,
        )
    if isinstance(exc, NotPermitted):
        return Forbidden(str(exc), required_role=exc.needed.name)
    if isinstance(exc, ReductionDuringTerm):
        return ReductionRefused(str(exc), seat_types=list(exc.seat_types))
    return InvalidInput(str(exc))


def is_scim_path(path: str) -> bool:
    """Whether a request is SCIM's, and so is answered in SCIM's format (RFC 7644 §3.12)."""
    return path.startswith("/scim/v2")


def scim_error_body(exc: Exception) -> tuple[dict[str, Any], int]:
    """RFC 7644 §3.12: the SCIM Error body and HTTP status for any error we raise."""
    if isinstance(exc, DOMAIN_EXCEPTIONS):
        exc = translate(exc)
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return scim_error(exc.status, error.detail or str(exc), error.scim_type), exc.status
    if isinstance(exc, DomainError):
        # An admin-API 422 is a SCIM 400 invalidValue (RFC 7644 §3.12 Table 9).
        status = 400 if exc.status == 422 else exc.status
        return scim_error(status, exc.message, exc.scim_type), status
    return scim_error(500, "internal server error"), 500


def scim_error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    return body


def api_error_body(exc: DomainError) -> tuple[dict[str, Any], int]:
    """The admin API's error shape: {"error": {"code", "message", ...details}}."""
    return {"error": {"code": exc.code, "message": exc.message, **exc.details}}, exc.status

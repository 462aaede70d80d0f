"""What every answer of this server must be, whatever it was sent.

No server error; no traceback; never HTML; an error is a SCIM Error (RFC 7644 §3.12:
`schemas`, `status` as a string, `detail`, `scimType` where one applies) with
`application/scim+json` under /scim/v2, and `{"error": {"code", "message"}}` with
`application/json` elsewhere; and it costs the server a bounded CPU time and comes back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from scim_server.errors import is_scim_path

from .live import RawAnswer

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# RFC 7644 §3.12, Table 9.
SCIM_TYPES = {
    "invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
    "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive",
}  # fmt: skip
# What a request may cost: the server's CPU, which no other load on the machine changes,
# and, to catch a request left waiting, the time until its answer, on a busy 2-core machine.
CPU_SECONDS_PER_REQUEST = 2.0
SECONDS_PER_REQUEST = 10.0
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "site-packages/")
# RFC 9112 §6.1: the one 5xx a client can ask for, a transfer coding no server must know.
NOT_IMPLEMENTED_CODING = "transfer_coding_not_implemented"


@dataclass(frozen=True)
class Answer:
    method: str
    path: str  # as the application sees it: percent-decoded, no query
    status: int
    content_type: str  # the header as sent, "" when there is none
    body: bytes
    seconds: float
    cpu_seconds: float | None = None  # the server's workers', when measured

    @classmethod
    def of(cls, response: httpx.Response, seconds: float) -> Answer:
        request = response.request
        return cls(
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            seconds,
        )

    @classmethod
    def of_raw(cls, method: str, path: str, raw: RawAnswer) -> Answer:
        return cls(
            method, path, raw.status, raw.headers.get("content-type", ""), raw.body, raw.seconds
        )

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        start = self.body.lstrip()[:15].lower()
        return self.mimetype == "text/html" or start.startswith((b"<html", b"<!doctype"))

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        body = self.body[:600].decode("utf-8", "replace")
        return f"{self.method} {self.path} -> {self.status} {self.content_type!r} in {self.seconds:.2f} s: {body}"


def problems(answer: Answer) -> list[str]:
    """Everything wrong with an answer; none when it is what every answer must be."""
    found = []
    if answer.status >= 500 and not _not_implemented_coding(answer):
        found.append(f"a server error ({answer.status})")
    text = answer.body.decode("utf-8", "replace")
    if any(mark in text for mark in TRACEBACK_MARKS):
        found.append("a traceback in the body")
    if answer.is_html:
        found.append("an HTML answer")
    if answer.seconds > SECONDS_PER_REQUEST:
        found.append(f"{answer.seconds:.1f} s, over the bound of {SECONDS_PER_REQUEST} s")
    if answer.cpu_seconds is not None and answer.cpu_seconds > CPU_SECONDS_PER_REQUEST:
        found.append(
            f"{answer.cpu_seconds:.1f} s of the server's CPU, over {CPU_SECONDS_PER_REQUEST} s"
        )
    if answer.status >= 400:
        found += _error_shape(answer)
    return found


def assert_well_formed(answer: Answer) -> None:
    found = problems(answer)
    assert not found, f"{'; '.join(found)}:\n{answer}"


def _error_shape(answer: Answer) -> list[str]:
    scim = is_scim_path(answer.path)
    wanted = "application/scim+json" if scim else "application/json"
    if answer.mimetype != wanted:
        return [f"an error of Content-Type {answer.content_type!r}, not {wanted}"]
    if answer.method == "HEAD":
        return []  # no body, by definition (RFC 9110 §9.3.2)
    try:
        body = answer.json()
    except ValueError:
        return ["an error whose body is not JSON"]
    return _scim_error(body, answer.status) if scim else _api_error(body)


def _scim_error(body: Any, status: int) -> list[str]:
    if not isinstance(body, dict) or body.get("schemas") != [SCIM_ERROR]:
        return [f"not a SCIM Error: schemas must be [{SCIM_ERROR!r}]"]
    found = []
    if body.get("status") != str(status):
        found.append(f"a SCIM Error whose status {body.get('status')!r} is not {str(status)!r}")
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        found.append("a SCIM Error without a detail")
    if "scimType" in body and body["scimType"] not in SCIM_TYPES:
        found.append(f"a scimType RFC 7644 §3.12 does not name: {body['scimType']!r}")
    return found


def _api_error(body: Any) -> list[str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return ['not an error of the form {"error": {"code", "message"}}']
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return ["an error without a code and a message"]
    return []


def _not_implemented_coding(answer: Answer) -> bool:
    if answer.status != 501:
        return False
    try:
        body = answer.json()
    except ValueError:
        return False
    detail = json.dumps(body)
    return NOT_IMPLEMENTED_CODING in detail or "transfer coding" in detail

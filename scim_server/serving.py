"""gunicorn as this server runs it: `gunicorn -c python:scim_server.serving scim_server.wsgi:app`.

`scim-server serve` (so the Dockerfile, the conformance runner and the tests' live server)
starts gunicorn with this module as its configuration: the limits on what gunicorn reads
before the application sees a request, and a worker that answers a request gunicorn
cannot parse the way the application answers every other error. gunicorn's own answer is
an HTML page; a SCIM client is owed a SCIM Error (RFC 7644 §3.12), anyone else the admin
API's JSON error.
"""

from __future__ import annotations

import http as _http
import json as _json
import os as _os
import select as _select
import shutil as _shutil
import tempfile as _tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path as _Path
from typing import Any
from urllib.parse import unquote as _unquote
from urllib.parse import urlsplit as _urlsplit

from gunicorn import util as _util
from gunicorn.http import errors as _errors
from gunicorn.http import message as _message
from gunicorn.http.parser import RequestParser as _RequestParser
from gunicorn.workers.gthread import ThreadWorker as _ThreadWorker
from gunicorn.workers.sync import SyncWorker as _SyncWorker

from . import errors as _domain

# Entra and Okta send SCIM filters in the query string (RFC 7644 §3.4.2.2): gunicorn's
# default request line (4,094 bytes, and at most 8,190) turns away a filter of a few KB.
# A long filter still has POST .search (RFC 7644 §3.4.3), which has no such limit.
REQUEST_LINE_LIMIT = 32 * 1024
# gunicorn's defaults, stated here because the README documents them.
HEADER_FIELD_LIMIT = 8190
HEADER_FIELDS_LIMIT = 100

# How long a thread of ThreadedWorker waits for the next request on the connection it
# just answered before handing the connection back to gunicorn's poller.
FOLLOW_UP_MS = 10

# The settings gunicorn reads from this module (it ignores every other name).
worker_class = "scim_server.serving.Worker"
# The request line's bound is enforced by gunicorn's Python parser (Request below).
http_parser = "python"
limit_request_line = REQUEST_LINE_LIMIT
limit_request_fields = HEADER_FIELDS_LIMIT
limit_request_field_size = HEADER_FIELD_LIMIT
# gunicorn 25.1+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl)
# unless told not to: two servers of one user (hosts whose containers share a home, the
# tests' live servers) would take it from each other. Workers are set on the command line.
control_socket_disable = True

# What gunicorn raises for its own or the application's fault, not the client's.
_SERVER_FAULTS = (
    _errors.ConfigurationProblem,
    _errors.InvalidResponseHeader,
    _errors.InvalidResponseHeaderName,
)
# Enough of a request's first bytes to find its path when its request line is unreadable.
_HEAD_BYTES = 512


class Request(_message.Request):
    """gunicorn's request, with this server's request-line bound, remembering its first bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.head = b""
        try:
            super().__init__(*args, **kwargs)  # reads the request line and the headers
        except _errors.ParseException as exc:
            # No request to hand to Worker.handle_error: the path goes with the error.
            exc.request_path = path_of(self.head)
            raise

    def parse(self, unreader: Any) -> Any:
        # gunicorn clamps limit_request_line to 8,190 when it builds the request; the
        # setting above is the bound, and the Python parser reads it from here.
        self.limit_request_line = self.cfg.limit_request_line
        return super().parse(unreader)

    def read_into(self, unreader: Any, buf: bytearray, stop: bool = False) -> None:
        super().read_into(unreader, buf, stop)
        if not self.head:
            self.head = bytes(buf[:_HEAD_BYTES])


class _Answering:
    """What both workers add to gunicorn's: its answers to what it cannot parse are the
    protocol's JSON, and a body's broken framing is the client's error."""

    wsgi: Any  # the application, which load_wsgi() loads
    log: Any  # gunicorn's logger

    @classmethod
    def setup(cls) -> None:
        # gunicorn calls setup() on the worker class in the master, before it forks the
        # workers; every request they parse is then built as this module's Request.
        _RequestParser.mesg_class = Request

    def load_wsgi(self) -> None:
        super().load_wsgi()  # type: ignore[misc]  # the gunicorn worker this is mixed into
        application = self.wsgi

        def framed(environ: dict[str, Any], start_response: Any) -> Any:
            body = environ["wsgi.input"] = RequestBody(environ["wsgi.input"], environ)

            def starting(status: str, headers: Any, exc_info: Any = None) -> Any:
                if body.unread():
                    # An answer given before the body was read (a 401, 405, 413...): the
                    # next request's start on the connection is not known yet, and
                    # gunicorn drains at most 64 KiB of it. Said now, the client does
                    # not send its next request on a connection about to close.
                    start_response.__self__.force_close()  # gunicorn's Response
                return start_response(status, headers, exc_info)

            return application(environ, starting)

        self.wsgi = framed

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        error = refusal(exc)
        if error.status >= 500:
            self.log.exception("Error handling request")
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        # A request gunicorn could not build has no `req`: its error carries the path.
        path = (
            _unquote(req.path) if getattr(req, "path", None) else getattr(exc, "request_path", "")
        )
        try:
            _util.write_nonblock(client, answer(error, str(path)))
        except Exception:  # the client has gone: nothing to tell it
            self.log.debug("Failed to send error message.")


class Worker(_Answering, _SyncWorker):
    """gunicorn's sync worker: one request at a time."""


class ThreadedWorker(_Answering, _ThreadWorker):
    """gunicorn's threaded worker (`--threads`): while a request waits on the database,
    another runs; a client's connection is kept open between its requests.

    gunicorn hands a kept-alive connection back to its main thread after every answer,
    which waits for the next request and hands it to a thread again: two hand-offs per
    request between threads that take turns on one interpreter lock. An identity
    provider's sync sends its next request within a millisecond or two of an answer, so
    the thread that answered waits for it a little first (FOLLOW_UP_MS), and only when
    no other connection is waiting for a thread; an idle client's connection goes back
    to gunicorn's poller as before.
    """

    def handle(self, conn: Any) -> Any:
        keepalive = super().handle(conn)
        while keepalive is True and self.alive and self._follows(conn):
            keepalive = super().handle(conn)
        return keepalive

    def _follows(self, conn: Any) -> bool:
        """Whether the connection's next request arrives within FOLLOW_UP_MS, waited for
        only while no other connection waits for a thread."""
        if conn.parser.unreader.buf.getvalue():
            return True  # read already, with the last request's bytes
        if not self.tpool._work_queue.empty():  # concurrent.futures' queue of waiting work
            return False
        poll = _select.poll()
        poll.register(conn.sock, _select.POLLIN)
        return bool(poll.poll(FOLLOW_UP_MS))


class RequestBody:
    """wsgi.input, whose broken framing (a chunk size that is not hex, say) is the client's.

    gunicorn parses a chunked body only as the application reads it, so its refusal
    surfaces inside a view, where it would be a 500. Raised as the application's own
    error instead, each blueprint answers it in its protocol's format: a 400.
    """

    def __init__(self, body: Any, environ: dict[str, Any]) -> None:
        self._body = body
        # A body's size: None when chunked (read to its end), else its Content-Length, which
        # gunicorn has checked is digits; a request with neither has none (RFC 9112 §6.3).
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = environ.get("CONTENT_LENGTH") or "0"
        self._length: int | None = None if chunked else int(length)
        self._read = 0
        self._ended = False  # a read returned nothing: the end of a chunked body

    def unread(self) -> bool:
        """Whether some of the body is still on the connection, unread by the application."""
        if self._length is None:
            return not self._ended
        return self._read < self._length

    def read(self, size: int | None = None) -> bytes:
        with _client_framing():
            return self._count(bytes(self._body.read(size)), size)

    def readline(self, size: int | None = None) -> bytes:
        with _client_framing():
            return self._count(bytes(self._body.readline(size)), size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        with _client_framing():
            lines = list(self._body.readlines(hint))
        for line in lines:
            self._count(line, None)
        if hint is None or hint <= 0:
            self._ended = True
        return lines

    def _count(self, data: bytes, size: int | None) -> bytes:
        self._read += len(data)
        if not data and size != 0:
            self._ended = True
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


@contextmanager
def _client_framing() -> Iterator[None]:
    try:
        yield
    except _errors.ParseException as exc:
        raise _domain.MalformedRequest(
            f"the request body is not valid HTTP/1.1 (RFC 9112 §7): {_errors_text(exc)}"
        ) from exc


def refusal(exc: BaseException) -> _domain.DomainError:
    """The error a request gunicorn refused is, as the application's errors are written."""
    if isinstance(exc, _errors.LimitRequestLine):
        return _domain.RequestLineTooLong(
            f"the request line is longer than {REQUEST_LINE_LIMIT} bytes; "
            "send a long filter in a POST to .search",
            limit=REQUEST_LINE_LIMIT,
        )
    if isinstance(exc, _errors.LimitRequestHeaders):
        return _domain.HeadersTooLarge(
            f"the request's headers are too large: at most {HEADER_FIELDS_LIMIT} fields "
            f"of {HEADER_FIELD_LIMIT} bytes each",
            limit=HEADER_FIELD_LIMIT,
        )
    if isinstance(exc, _errors.UnsupportedTransferCoding):
        # RFC 9112 §6.1: a transfer coding the server does not understand is a 501.
        return _domain.TransferCodingNotImplemented(
            "the only transfer coding this server reads is chunked"
        )
    if isinstance(exc, _errors.ExpectationFailed):
        return _domain.ExpectationFailed("the only expectation this server meets is 100-continue")
    if isinstance(exc, _errors.ParseException) and not isinstance(exc, _SERVER_FAULTS):
        return _domain.MalformedRequest(
            f"the request is not valid HTTP/1.1 (RFC 9112): {_errors_text(exc)}"
        )
    return _domain.InternalError("internal server error")


def answer(error: _domain.DomainError, path: str) -> bytes:
    """The whole response: a SCIM Error under /scim/v2, the admin API's error elsewhere."""
    if _domain.is_scim_path(path):
        payload, status = _domain.scim_error_body(error)
        content_type = "application/scim+json"
    else:
        payload, status = _domain.api_error_body(error)
        content_type = "application/json"
    body = _json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} {_http.HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def path_of(head: bytes) -> str:
    """The path a request's first bytes name, as the application's request.path reads it:
    percent-decoded, and with one leading slash (werkzeug's rule: //scim/v2 is /scim/v2)."""
    line = head.lstrip(b"\r\n").split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    if len(parts) < 2:
        return ""
    target = parts[1].decode("latin-1")
    if target.startswith("/"):  # origin-form; urlsplit would read //scim as a host
        path = target.split("?", 1)[0].split("#", 1)[0]
    elif "://" in target:  # absolute-form (RFC 9112 §3.2.2); any other form names no path
        try:
            path = _urlsplit(target).path
        except ValueError:  # urlsplit refuses some ("http://[x")
            return ""
    else:
        return ""
    return "/" + _unquote(path).lstrip("/")


def _errors_text(exc: BaseException) -> str:
    """gunicorn's description of what it refused, short: it may quote the request."""
    text = str(exc)
    return text if len(text) <= 200 else f"{text[:200]}…"


# --- the workers' metrics ----------------------------------------------------------------------
# prometheus-client's multiprocess mode (scim_server/metrics.py): each worker writes its
# counts to files in PROMETHEUS_MULTIPROC_DIR, and a scrape, whichever worker answers it,
# reads them all. The directory must be set before a worker first imports prometheus_client,
# and empty when the server starts (a previous run's counts would be added to this one's):
# the master sees to both before it forks the workers (gunicorn's hooks below). An operator
# may name the directory (a tmpfs, say); otherwise it is a temporary one, removed at exit.

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"

_made: str | None = None  # the temporary directory this master made, if it made one


def on_starting(server: Any) -> None:
    global _made
    named = _os.environ.get(MULTIPROCESS)
    if named:
        folder = _Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        _made = _tempfile.mkdtemp(prefix="scim-server-metrics-")
        _os.environ[MULTIPROCESS] = _made


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's gauges (its pool's connections) go with it; its counts stay."""
    from prometheus_client import multiprocess  # after on_starting set the directory

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    global _made
    if _made is not None:
        _shutil.rmtree(_made, ignore_errors=True)
        _made = None

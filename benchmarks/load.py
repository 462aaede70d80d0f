"""The workload: SCIM payloads, the five measured operations, and a bounded HTTP driver.

Both servers get byte-for-byte the same requests; only the base URL, the token and the
ids differ. Every request is bounded: a fixed count per operation, and a time cap after
which the threads stop by themselves (the result then says so).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user_name(i: int) -> str:
    return f"user{i:06d}@bench.example"


def user_payload(name: str, i: int) -> dict[str, Any]:
    """What Okta or Entra sends to create a user: core attributes and the enterprise extension."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": name,
        "externalId": f"ext-{name}",
        "displayName": f"User {i}",
        "name": {"givenName": "User", "familyName": f"Number{i}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"department": f"dept-{i % 50}", "employeeNumber": str(i)},
    }


def group_payload(name: str, member_ids: list[str]) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": uid} for uid in member_ids],
    }


def member_patch(action: str, user_id: str) -> dict[str, Any]:
    """Okta's shapes: add with a value list, remove through a value filter on the path."""
    if action == "add":
        operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


@dataclass
class Target:
    """A seeded server: where it is, and what the workload may name."""

    label: str
    base: str  # the SCIM root, e.g. http://127.0.0.1:8000/scim/v2
    token: str
    user_names: list[str]  # seeded userNames (filtered on)
    user_count: int  # users listed by GET /Users (paging range)
    groups: dict[str, str]  # "big" / "small" -> group id
    group_sizes: dict[str, int]
    outsiders: dict[str, list[str]]  # user ids not in the group, added then removed
    notes: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    body: Any = None
    expect: tuple[int, ...] = (200,)
    check: Callable[[Any], str | None] | None = None  # returns an error text, or None


# Operations of different lanes never name the same user: the saturating rounds run in lane
# 0 and the rounds at a fixed rate in lane 1, on the same servers, one after the other.
LANES = 2


class Operation:
    """Builds the k-th request of a client thread; per-thread state keeps PATCHes paired."""

    def __init__(self, name: str, target: Target, threads: int, lane: int = 0) -> None:
        self.name = name
        self.target = target
        self.threads = threads
        self.lane = lane
        self.counters = [0] * threads
        self.rng = [random.Random(f"{name}-{t}") for t in range(threads)]

    def next_call(self, thread: int) -> Call:
        k = self.counters[thread]
        self.counters[thread] += 1
        return self.build(thread, k)

    def build(self, thread: int, k: int) -> Call:
        raise NotImplementedError


class Create(Operation):
    run_id = f"{int(time.time())}"

    def build(self, thread: int, k: int) -> Call:
        i = k * self.threads + thread
        name = f"new-{self.run_id}-{self.lane}-{thread}-{k}@bench.example"
        return Call("POST", "/Users", body=user_payload(name, i), expect=(201,))


class FilterUserName(Operation):
    def build(self, thread: int, k: int) -> Call:
        name = self.rng[thread].choice(self.target.user_names)
        params = {"filter": f'userName eq "{name}"'}
        return Call("GET", "/Users", params=params, check=_exactly_one(name))


class Page(Operation):
    size = 100

    def build(self, thread: int, k: int) -> Call:
        start = self.rng[thread].randint(1, max(1, self.target.user_count - self.size + 1))
        params = {"startIndex": start, "count": self.size}
        return Call("GET", "/Users", params=params, check=_full_page(self.size))


class PatchMembers(Operation):
    """Alternately adds a user who is not a member and removes that same user again."""

    group = "big"

    def build(self, thread: int, k: int) -> Call:
        lane = self.target.outsiders[self.group][self.lane :: LANES]
        pool = lane[thread :: self.threads]
        user_id = pool[(k // 2) % len(pool)]
        action = "add" if k % 2 == 0 else "remove"
        path = f"/Groups/{self.target.groups[self.group]}"
        return Call("PATCH", path, body=member_patch(action, user_id), expect=(200, 204))

    def left_added(self) -> int:
        """Members this operation leaves in the group: a thread whose last PATCH added one."""
        return sum(c % 2 for c in self.counters)


class PatchSmall(PatchMembers):
    group = "small"


def _exactly_one(name: str) -> Callable[[Any], str | None]:
    def check(body: Any) -> str | None:
        found = [r.get("userName") for r in body.get("Resources", [])]
        if body.get("totalResults") != 1 or found != [name]:
            return f"filter on {name!r} returned totalResults={body.get('totalResults')}"
        return None

    return check


def _full_page(size: int) -> Callable[[Any], str | None]:
    def check(body: Any) -> str | None:
        if len(body.get("Resources", [])) != size:
            return f"a page of {len(body.get('Resources', []))} resources, not {size}"
        return None

    return check


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    error_samples: list[str]
    capped: bool

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "p50_ms": round(percentile(ordered, 50), 2),
            "p99_ms": round(percentile(ordered, 99), 2),
            "max_ms": round(ordered[-1], 2) if ordered else 0.0,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "stopped_by_time_cap": self.capped,
        }


def pooled(results: list[Result]) -> Result:
    """Several runs of one operation on one server as one: latencies, requests and time add up."""
    errors = [sample for r in results for sample in r.error_samples]
    return Result(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        latencies_ms=[value for r in results for value in r.latencies_ms],
        errors=sum(r.errors for r in results),
        error_samples=errors[:5],
        capped=any(r.capped for r in results),
    )


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def run(operation: Operation, total: int, threads: int, cap_seconds: float) -> Result:
    """`total` requests over `threads` client threads, each with its own HTTP session."""
    target = operation.target
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + cap_seconds
    capped = threading.Event()

    def worker(thread: int) -> None:
        session = requests.Session()
        session.headers.update(target.headers)
        for _ in range(thread, total, threads):
            if time.monotonic() > deadline:
                capped.set()
                return
            call = operation.next_call(thread)
            started = time.perf_counter()
            problem = _send(session, target.base, call)
            latencies[thread].append((time.perf_counter() - started) * 1000)
            if problem:
                with lock:
                    errors.append(problem)
        session.close()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    flat = [value for per_thread in latencies for value in per_thread]
    return Result(len(flat), seconds, flat, len(errors), errors[:5], capped.is_set())


def run_at_rate(operation: Operation, total: int, rate: float, cap_seconds: float) -> Result:
    """`total` requests on a fixed schedule, `rate` a second, each timed from when it was due.

    `run` is a closed loop: a client sends its next request only once the last one is
    answered, so while the server stalls, the requests that would have arrived are simply
    not sent, and the stall shows in one request per client (and by Little's law its mean
    latency is the concurrency over the throughput: at saturation it re-measures the
    throughput). Here request i is due at start + i / rate whatever happened before, and
    its latency counts from then, not from when a thread was free to send it: a 100 ms
    stall at 300 requests a second delays the 30 due meanwhile, as an IdP pushing at that
    rate would see. `operation.threads` threads send, so that a stall leaves some free.
    """
    target = operation.target
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    sent = iter(range(total))
    started = time.perf_counter() + 0.01
    deadline = started + cap_seconds
    capped = threading.Event()

    def worker(thread: int) -> None:
        session = requests.Session()
        session.headers.update(target.headers)
        while True:
            with lock:
                i = next(sent, None)
            if i is None:
                break
            due = started + i / rate
            if due > deadline:
                capped.set()
                break
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            problem = _send(session, target.base, operation.next_call(thread))
            answered = time.perf_counter()
            with lock:
                latencies.append((answered - due) * 1000)
                if problem:
                    errors.append(problem)
        session.close()

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(operation.threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    return Result(len(latencies), seconds, latencies, len(errors), errors[:5], capped.is_set())


def _send(session: requests.Session, base: str, call: Call) -> str | None:
    """Send one request and read the whole answer; an error text for anything not expected."""
    data = None if call.body is None else json.dumps(call.body)
    try:
        response = session.request(
            call.method, base + call.path, params=call.params, data=data, timeout=60
        )
        content = response.content
    except requests.RequestException as exc:
        return f"{call.method} {call.path}: {type(exc).__name__}: {exc}"
    if response.status_code not in call.expect:
        return f"{call.method} {call.path}: HTTP {response.status_code} {content[:300]!r}"
    if call.check is not None:
        return call.check(json.loads(content))
    return None


# Create runs last, so that the reads and PATCHes see exactly the seeded population. The
# operations of one group are measured together, their rounds interleaved as the servers'
# are: the two PATCHes are compared with each other (the big group's within 1.5x of the
# 10-member one's), and measured minutes apart they compared the machine's speed too.
OPERATIONS: list[list[tuple[str, str, type[Operation]]]] = [
    [("filter", 'GET /Users?filter=userName eq "…"', FilterUserName)],
    [("page", "GET /Users?startIndex=random&count=100", Page)],
    [
        ("patch_big", "PATCH big group, one member", PatchMembers),
        ("patch_small", "PATCH 10-member group, one member", PatchSmall),
    ],
    [("create", "POST /Users (new userName)", Create)],
]

"""What the runner runs against one SCIM target: scim2-tester, then the Okta and Entra replays."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

TIMEOUT = 30


@dataclass(frozen=True)
class Target:
    """One organization of one deployment: what an IdP is configured with."""

    base: str  # .../scim/v2
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}


@dataclass(frozen=True)
class Outcome:
    """One line of the report: a scim2-tester result or a replay."""

    suite: str  # "scim2-tester" or "replay"
    name: str
    status: str  # a scim2-tester Status name, or PASS / FAIL for a replay
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status in {Status.SUCCESS.name, "PASS"}


def scim2_tester(target: Any) -> list[CheckResult]:
    """Every scim2-tester check, on the resource types the server's discovery publishes."""
    headers = {"Authorization": f"Bearer {target.token}"}
    with httpx2.Client(base_url=target.base, headers=headers, timeout=TIMEOUT) as http:
        return check_server(SyncSCIMClient(http))


def outcome_of(result: CheckResult) -> Outcome:
    name = f"{result.resource_type}/{result.title}" if result.resource_type else str(result.title)
    return Outcome("scim2-tester", name, result.status.name, result.reason or "")


def replay(name: str, run: Callable[[Any], None], target: Any) -> Outcome:
    """One replay; it creates the users and groups it needs under names of its own."""
    try:
        run(target)
    except AssertionError as exc:
        return Outcome("replay", name, "FAIL", str(exc))
    except Exception as exc:  # a replay that crashes (network, bad JSON) fails, others go on
        return Outcome("replay", name, "FAIL", f"{type(exc).__name__}: {exc}")
    return Outcome("replay", name, "PASS")


def replays(target: Any, registry: Mapping[str, Callable[[Any], None]]) -> Iterator[Outcome]:
    """Each replay in turn, so that a report can show them as they finish."""
    for name, run in registry.items():
        yield replay(name, run, target)

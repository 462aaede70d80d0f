"""scim2-tester and the conformance runner (python -m conformance) against gunicorn."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scim2_tester import CheckResult, Status

from conformance import checks, run
from conformance.idp import REPLAYS

from .live import ScimTarget

ROOT = Path(__file__).resolve().parent.parent


def described(result: CheckResult) -> str:
    return f"{result.status.name} {result.resource_type or '-'} {result.title}: {result.reason}"


@pytest.mark.live
def test_scim2_tester_reports_only_success_against_the_live_server(
    scim_target: ScimTarget,
) -> None:
    results = checks.scim2_tester(scim_target)
    failures = [r for r in results if r.status is not Status.SUCCESS]
    assert not failures, "scim2-tester did not succeed on:\n" + "\n".join(map(described, failures))
    # Discovery drives the rest: a server that published nothing would pass vacuously.
    assert {r.resource_type for r in results} >= {"User", "Group"}
    assert {"check_add_attribute", "check_remove_attribute", "check_replace_attribute"} <= {
        r.title for r in results
    }


@pytest.mark.live
def test_the_runner_starts_a_server_and_reports_every_check_and_replay_passed() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_SERVER_")}
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "--start"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    tester = re.search(r"^scim2-tester: (\d+) run \((\d+) SUCCESS\)$", done.stdout, re.M)
    assert tester and tester.group(1) == tester.group(2), output[-3000:]
    assert f"replay: {len(REPLAYS)} run ({len(REPLAYS)} PASS)" in done.stdout
    total = int(tester.group(1)) + len(REPLAYS)
    assert done.stdout.rstrip().endswith(f"conformance: {total} passed, 0 failed")


# --- the report, with no server --------------------------------------------------------------


def reported(*outcomes: checks.Outcome) -> tuple[int, str]:
    out = io.StringIO()
    return run.report(outcomes, out), out.getvalue()


def test_one_failure_makes_the_exit_code_1_and_its_reason_is_shown_in_full() -> None:
    code, text = reported(
        checks.Outcome("scim2-tester", "User/object_query", "SUCCESS", "found"),
        checks.Outcome("scim2-tester", "Group/check_add_attribute", "ERROR", "not added\nsent: x"),
    )
    assert code == 1
    assert "ERROR      scim2-tester Group/check_add_attribute: not added\n    sent: x" in text
    assert text.rstrip().endswith("conformance: 1 passed, 1 failed")


def test_a_skipped_or_merely_compliant_check_is_not_a_pass() -> None:
    for status in (Status.SKIPPED, Status.COMPLIANT):
        code, _ = reported(checks.Outcome("scim2-tester", "misc", status.name))
        assert code == 1


def test_a_run_that_checked_nothing_is_not_a_pass() -> None:
    code, text = reported()
    assert code == 1
    assert text.rstrip().endswith("conformance: 0 passed, 0 failed")


def test_a_crashing_replay_fails_alone_and_the_others_still_run() -> None:
    def crashes(_: Any) -> None:
        raise ConnectionError("refused")

    def asserts(_: Any) -> None:
        raise AssertionError("expected 201, got 400")

    registry = {"crashes": crashes, "asserts": asserts, "passes": lambda _: None}
    outcomes = list(checks.replays(checks.Target("http://x/scim/v2", "t"), registry))
    assert [(o.name, o.status) for o in outcomes] == [
        ("crashes", "FAIL"),
        ("asserts", "FAIL"),
        ("passes", "PASS"),
    ]
    assert outcomes[0].detail == "ConnectionError: refused"
    assert outcomes[1].detail == "expected 201, got 400"


def test_a_url_without_a_token_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCIM_CONFORMANCE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:
        run.main(["--url", "https://scim.example.com/scim/v2"], out=io.StringIO())
    assert exited.value.code == 2


def test_the_target_sends_the_token_as_a_bearer_with_the_scim_media_type() -> None:
    assert checks.Target("https://h/scim/v2", "tok").headers == {
        "Authorization": "Bearer tok",
        "Content-Type": "application/scim+json",
    }

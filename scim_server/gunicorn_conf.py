"""gunicorn's hooks for `scim-server serve`: one set of metrics for all the workers.

prometheus-client's multiprocess mode (scim_server/metrics.py): each worker writes its
counts to files in PROMETHEUS_MULTIPROC_DIR, and a scrape, whichever worker answers it,
reads them all. The directory must be set before a worker first imports prometheus_client,
and empty when the server starts (a previous run's counts would be added to this one's):
the master sees to both before it forks the workers. An operator may name the directory
(a tmpfs, say); otherwise it is a temporary one, removed when the server stops.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"

_made: str | None = None  # the temporary directory this master made, if it made one


def on_starting(server: Any) -> None:
    global _made
    named = os.environ.get(MULTIPROCESS)
    if named:
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
    else:
        _made = tempfile.mkdtemp(prefix="scim-server-metrics-")
        os.environ[MULTIPROCESS] = _made


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's gauges (its pool's connections) go with it; its counts stay."""
    from prometheus_client import multiprocess  # after on_starting set the directory

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    global _made
    if _made is not None:
        shutil.rmtree(_made, ignore_errors=True)
        _made = None

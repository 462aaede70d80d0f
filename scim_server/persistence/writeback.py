"""SQLite's write-ahead log handed to the disk as it is written, not in bursts.

In WAL mode with `synchronous=NORMAL` a commit only writes its pages into the log file,
in the page cache; the background checkpoint syncs the log before it copies it into the
database file. Each commit writes every page it changed, 15 for a SCIM create: under a
steady thousand creates a second the log grows by 60 MB a second, and four checkpoints a
second each sent 15 MB to the disk at once. On the benchmark's virtual machine such a
burst stalled everything running beside it, clients included: a create's p99 under load
was 8.3 ms against the in-memory reference's 5.7, and an unrelated process writing the
same bursts raised the reference's own p99 to 8.5-9.8 ms. Written back as it grows, the
same 60 MB a second cost the reference 0.4 ms.

So the checkpoint thread, every 25 ms, asks Linux to start writing back whatever the log
has dirty (`sync_file_range` with SYNC_FILE_RANGE_WRITE). The call neither waits for the
disk nor flushes its cache: durability is what it was, the checkpoint's sync still comes
before any page is copied into the database file. That sync then finds the log written.
Elsewhere than on Linux it is not available and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

SYNC_FILE_RANGE_WRITE = 2  # <fcntl.h>: start writeback of the range's dirty pages, no wait


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # a C library without it
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range()


class LogWriteback:
    """The log file of one database, followed across its deletions and re-creations.

    SQLite deletes the log when its last connection closes and creates a new one at the
    next write, so the file is opened (read-only: writeback needs no more) by path, and
    opened again whenever the path names another file. SQLite takes no POSIX lock on the
    log (its WAL locks are on the -shm file), so closing this descriptor releases none.
    """

    def __init__(self, database_file: str) -> None:
        self.path = database_file + "-wal"
        self._fd: int | None = None

    def start(self) -> bool:
        """Start writing the log's dirty pages to the disk; whether it was asked to."""
        if _sync_file_range is None:
            return False
        fd = self._open()
        if fd is None:
            return False
        if _sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0:
            log.debug("sync_file_range failed: errno %s", ctypes.get_errno())
            return False
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int | None:
        """The log's descriptor; None when there is no log, or it cannot be opened.

        Only a hint rides on it: an error is logged at debug level, never raised, as the
        thread asks 40 times a second and a warning each time would flood the log.
        """
        try:
            current = os.stat(self.path)
        except FileNotFoundError:  # no log yet, or none since the last connection closed
            self.close()
            return None
        except OSError as exc:
            log.debug("cannot stat %s: %s", self.path, exc)
            return None
        if self._fd is not None:
            held = os.fstat(self._fd)
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                return self._fd
            self.close()
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:  # vanished meanwhile, or not readable by this user
            log.debug("cannot open %s: %s", self.path, exc)
            return None
        return self._fd

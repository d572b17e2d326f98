"""What a reliability test measures: descriptors and memory from ``/proc``, live Trio tasks.

Linux only (``/proc``), as CI is. Every figure is read when asked; nothing
here runs in the background.

Not here: the server's own counters (``current_runtime().statistics()``).
"""

from __future__ import annotations

import os
import resource

import trio

__all__ = ["live_tasks", "open_fds", "raise_fd_limit", "rss_bytes"]


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft descriptor limit towards the hard one; return the new soft limit.

    Child processes started afterwards inherit it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_fds(pid: int | str = "self") -> int:
    """How many descriptors the process has open now."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int | str = "self") -> int:
    """The process's resident set size now, in bytes (``VmRSS``)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"/proc/{pid}/status has no VmRSS line")


def live_tasks() -> int:
    """How many tasks the running Trio loop has now (system tasks included)."""

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(
            count(child) for nursery in task.child_nurseries for child in nursery.child_tasks
        )

    root = trio.lowlevel.current_root_task()
    assert root is not None, "not in a Trio run"
    return count(root)

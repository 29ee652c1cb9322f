"""Children that do not outlive their supervisor."""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child, before exec (Popen's preexec_fn): the kernel sends it SIGTERM when its parent
    dies, even by SIGKILL, so no web keeps the port and no worker works for a supervisor that is
    gone. Linux only; elsewhere a no-op."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)

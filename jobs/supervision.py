"""Children that do not outlive their supervisor."""
from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1
try:  # loaded here, in the parent: the child between fork and exec only calls into it
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None


def die_with_parent() -> None:
    """In a child, before exec (Popen's preexec_fn): the kernel sends it SIGTERM when its parent
    dies, even by SIGKILL, so no web keeps the port and no worker works for a supervisor that is
    gone. It takes no lock and allocates nothing, so it is safe in a threaded parent. Linux only;
    elsewhere a no-op."""
    prctl = getattr(_LIBC, "prctl", None)
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)

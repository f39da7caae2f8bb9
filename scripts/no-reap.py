#!/usr/bin/env python3
"""Runs a command under a parent that never reaps orphaned processes, as in a container whose PID 1
does not: the zombie of a process whose parent died lingers. Tests that wait for a process (group) to
be gone must pass here too; `python3 scripts/no-reap.py npm test` reproduces such a CI machine.

Linux only: the parent makes itself the child subreaper (prctl PR_SET_CHILD_SUBREAPER) and then waits
for its own child alone, never for the orphans handed to it. A Python script because Node cannot call
prctl without a native addon.
"""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36

if len(sys.argv) < 2:
    sys.exit("usage: no-reap.py <command> [args...]")
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit(f"no-reap.py: prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))

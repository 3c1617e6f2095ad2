#!/usr/bin/env python3
"""Starts Chromium (the path in BROWSER_TESTS_CHROMIUM) so that it ends when chromedriver, its parent, ends.

chromedriver itself ends with the test process (see conftest.py), so a test run killed even with SIGKILL leaves
no browser behind. Linux's PR_SET_PDEATHSIG survives the exec below.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1

target = os.environ["BROWSER_TESTS_CHROMIUM"]
try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
except OSError:
    pass
if os.getppid() == 1:  # the parent is already gone
    sys.exit(1)
os.execv(target, [target, *sys.argv[1:]])

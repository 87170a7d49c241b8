"""Suite-wide settings."""

from __future__ import annotations

import os

# Hook calls start a resident helper (see sidecar/agents/hook_daemon.py); in tests
# it must not outlive the run by the default quarter of an hour.
os.environ.setdefault("SIDECAR_HOOK_IDLE_S", "10")

# The user's own redaction rules (sidecar/store/rules.py) must not leak into
# in-process tests; tests of the rules point this elsewhere.
os.environ["SIDECAR_REDACTION"] = os.devnull + ".sidecar-tests-have-no-redaction-rules"

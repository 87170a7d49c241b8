"""Suite-wide settings."""

from __future__ import annotations

import os

# The user's own redaction rules (sidecar/store/rules.py) must not leak into
# in-process tests; tests of the rules point this elsewhere.
os.environ["SIDECAR_REDACTION"] = os.devnull + ".sidecar-tests-have-no-redaction-rules"

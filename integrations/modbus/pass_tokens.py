"""The platform's token module (``visit_platform/access/tokens.py``), loaded without importing
the ``visit_platform`` package.

Importing anything under ``visit_platform`` runs its ``__init__``, which starts the Celery app
and with it Django; the agent must run on a machine with no settings and no database. The
token module itself needs only ``base45`` and ``cryptography``, so it is loaded from its file:
one implementation of the token format, used by the platform and the agent alike.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

_NAME = "integrations.modbus._visit_tokens"
_PATH = Path(__file__).resolve().parents[2] / "visit_platform" / "access" / "tokens.py"

if TYPE_CHECKING:
    from visit_platform.access import tokens
else:
    tokens = sys.modules.get(_NAME)
    if tokens is None:
        _spec = importlib.util.spec_from_file_location(_NAME, _PATH)
        if _spec is None or _spec.loader is None:  # pragma: no cover - a broken checkout
            raise ImportError(f"cannot load the token module from {_PATH}")
        tokens = importlib.util.module_from_spec(_spec)
        # Registered before it runs: dataclasses look their module up by name.
        sys.modules[_NAME] = tokens
        _spec.loader.exec_module(tokens)

__all__ = ["tokens"]

"""The agent runs on a machine with no database and no Django settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_environment() -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "GATE_AGENT_KEY")
    }
    environment["PYTHONPATH"] = str(ROOT)
    return environment


def test_the_agent_imports_without_django() -> None:
    script = (
        "import sys, integrations.modbus.__main__, integrations.modbus.agent;"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'celery'));"
        "print(loaded)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=clean_environment(),
        cwd=ROOT,
        check=True,
    )

    assert result.stdout.strip() == "[]"


def test_the_standalone_agent_asks_for_its_key_before_anything_else() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "integrations.modbus", "--platform", "https://tower.example.com"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        cwd=ROOT,
        check=False,
    )

    assert result.returncode == 2
    assert "GATE_AGENT_KEY" in result.stderr

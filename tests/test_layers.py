"""The layers point one way: ``lint-imports`` (run by ``make lint``) refuses an import that
points up. Shown here on a copy of the code with one upward import added, so the real tree is
never touched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kernel", "tenants", "visit_platform", "workflows", "forms", "integrations")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own virtualenv's tool
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layers")
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return tree


@pytest.mark.parametrize(
    ("module", "upward_import", "broken"),
    [
        ("kernel/probe.py", "from visit_platform.visits import models", "kernel"),
        ("tenants/probe.py", "from visit_platform.directory import models", "tenants"),
        ("visit_platform/visits/probe.py", "from workflows import policies", "visits"),
        ("integrations/sms/probe.py", "from visit_platform.audit import actions", "integrations"),
        ("integrations/modbus/probe.py", "import django.db", "gate agent"),
    ],
)
def test_an_import_that_points_up_breaks_a_contract(
    copy_of_the_code: Path, module: str, upward_import: str, broken: str
) -> None:
    probe = copy_of_the_code / module
    probe.write_text(f'"""A probe."""\n\n{upward_import}\n')
    try:
        result = lint_imports(copy_of_the_code)
    finally:
        probe.unlink()

    assert result.returncode == 1
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout, broken


def test_the_code_keeps_every_contract(copy_of_the_code: Path) -> None:
    result = lint_imports(copy_of_the_code)

    assert (result.returncode, "BROKEN" in result.stdout) == (0, False), result.stdout[-3000:]

"""The layers point one way: ``lint-imports`` (run by ``make lint``) refuses an import that
points up. Shown here on a copy of the code with one upward import added, so the real tree is
never touched."""

from __future__ import annotations

import ast
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


# Imports inside functions that cross packages, allowed for a reason of their own: app
# registries load late (AppConfig.ready), and the demo command loads the gate simulator only
# when it runs one. Anything else written inside a function to dodge a circle is refused.
ALLOWED_INNER_IMPORTS = {
    ("visit_platform/web/management/commands/demo.py", "integrations.modbus.background"),
    ("visit_platform/web/management/commands/demo.py", "integrations.modbus.register_map"),
    ("visit_platform/web/management/commands/demo.py", "visit_platform.access.agent_setup"),
}


def _unit(module: str) -> str:
    """The package a module counts under: a domain app of visit_platform, or a top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "visit_platform" and len(parts) > 1 else parts[0]


def inner_imports_across_packages() -> set[tuple[str, str]]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "apps.py":
                continue
            relative = path.relative_to(ROOT)
            source = ".".join(relative.with_suffix("").parts)
            tree = ast.parse(path.read_text())
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    else:
                        continue
                    for name in names:
                        if name.split(".")[0] in PACKAGES and _unit(name) != _unit(source):
                            found.add((str(relative), name))
    return found


def test_no_import_inside_a_function_crosses_packages_but_the_allowed_ones() -> None:
    assert inner_imports_across_packages() - ALLOWED_INNER_IMPORTS == set()

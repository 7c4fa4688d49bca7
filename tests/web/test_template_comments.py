"""Django's ``{# #}`` comments end on their line: one spread over several lines is printed on
the page as text (the phone pages once showed theirs above the header)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_template_has_a_comment_spread_over_lines() -> None:
    templates = [
        path
        for path in ROOT.rglob("templates/**/*.html")
        if ".venv" not in path.parts and "test-artifacts" not in path.parts
    ]
    broken = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in templates
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]

    assert templates and broken == []

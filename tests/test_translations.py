"""The Simplified Chinese catalogue is complete, compiled, and used.

Run ``manage.py makemessages -l zh_Hans ...`` after changing strings, translate the new
entries, then ``manage.py compilemessages``: these tests fail while the .po has an
untranslated or fuzzy entry, or while the committed .mo lags behind the .po.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# printf-style placeholders as Python's % operator reads them: %(name)s, %d, %s, %%.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    def describe(self) -> str:
        context = f" [{self.msgctxt}]" if self.msgctxt else ""
        return f"django.po:{self.line}: {self.msgid!r}{context}"


def parse_po(text: str) -> list[Entry]:
    """A small .po reader: comments, flags, msgctxt, msgid(_plural), msgstr and msgstr[n].

    Obsolete entries (``#~``) are skipped; gettext leaves them out of the .mo as well.
    """
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def start(lineno: int) -> Entry:
        nonlocal entry
        if entry is None:
            entry = Entry(line=lineno)
        return entry

    def finish() -> None:
        nonlocal entry, target
        if entry is not None:
            entries.append(entry)
        entry, target = None, None

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            start(lineno).flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            assert entry is not None and target is not None, f"line {lineno}: stray string"
            value = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, name, getattr(entry, name) + value)
            continue
        value = ast.literal_eval(rest.strip())
        current = start(lineno)
        if keyword in ("msgctxt", "msgid") and current.msgstr:
            # A new entry began without a blank line before it.
            finish()
            current = start(lineno)
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(current, keyword, value)
            target = (keyword, 0)
        elif keyword == "msgstr":
            current.msgstr[0] = value
            target = ("msgstr", 0)
        elif m := re.fullmatch(r"msgstr\[(\d+)\]", keyword):
            current.msgstr[int(m.group(1))] = value
            target = ("msgstr", int(m.group(1)))
        else:
            raise AssertionError(f"line {lineno}: cannot read {raw!r}")
    finish()
    return [e for e in entries if e.msgstr or e.msgid]


def read_mo(data: bytes) -> dict[tuple[str | None, str], list[str]]:
    """The entries of a GNU .mo file: (msgctxt, msgid) -> [msgstr, ...]."""
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _revision, count, ids_at, strs_at = struct.unpack(order + "4I", data[4:20])
    catalogue: dict[tuple[str | None, str], list[str]] = {}
    for i in range(count):
        id_len, id_off = struct.unpack(order + "2I", data[ids_at + 8 * i : ids_at + 8 * i + 8])
        str_len, str_off = struct.unpack(order + "2I", data[strs_at + 8 * i : strs_at + 8 * i + 8])
        msgid = data[id_off : id_off + id_len].decode("utf-8")
        msgstr = data[str_off : str_off + str_len].decode("utf-8")
        context: str | None = None
        if "\x04" in msgid:
            context, msgid = msgid.split("\x04", 1)
        msgid = msgid.split("\x00", 1)[0]  # singular of a plural entry
        catalogue[(context, msgid)] = msgstr.split("\x00")
    return catalogue


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing: run manage.py makemessages -l zh_Hans"
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(po_entries: list[Entry]) -> list[Entry]:
    return [e for e in po_entries if e.msgid != "" or e.msgctxt is not None]


def test_po_file_has_entries(messages: list[Entry]) -> None:
    assert len(messages) > 100
    assert len({e.key for e in messages}) == len(messages), "duplicate msgids in django.po"


def test_po_header_declares_one_plural_form(po_entries: list[Entry]) -> None:
    header = next(e for e in po_entries if e.msgid == "" and e.msgctxt is None)
    assert "charset=UTF-8" in header.msgstr[0]
    assert "nplurals=1;" in header.msgstr[0].replace(" ", "")


def test_no_entry_is_fuzzy(po_entries: list[Entry]) -> None:
    fuzzy = [e.describe() for e in po_entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries (review, then drop the flag):\n" + "\n".join(fuzzy)


def test_no_entry_is_untranslated(messages: list[Entry]) -> None:
    empty = [e.describe() for e in messages if not e.msgstr or not all(e.msgstr.values())]
    assert not empty, "untranslated entries:\n" + "\n".join(empty)


def test_entries_use_the_single_chinese_form(messages: list[Entry]) -> None:
    # Chinese has one plural form: a plural entry has msgstr[0] only (nplurals=1).
    wrong = [e.describe() for e in messages if set(e.msgstr) != {0}]
    assert not wrong, "entries with more than one form:\n" + "\n".join(wrong)


def test_translations_keep_their_placeholders(messages: list[Entry]) -> None:
    wrong = []
    for entry in messages:
        if "python-format" not in entry.flags and "python-brace-format" not in entry.flags:
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        if "python-brace-format" in entry.flags:
            wanted = sorted(re.findall(r"\{[^{}]*\}", entry.msgid))
        for text in entry.msgstr.values():
            found = (
                sorted(re.findall(r"\{[^{}]*\}", text))
                if "python-brace-format" in entry.flags
                else sorted(PLACEHOLDER.findall(text))
            )
            if found != wanted:
                wrong.append(f"{entry.describe()}: {wanted} != {found} in {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_translations_are_chinese(messages: list[Entry]) -> None:
    # A translation that still has words in it but no Chinese was most likely copied over
    # from English. Strings that are only placeholders and punctuation are fine as they are.
    def untranslated(text: str) -> bool:
        words = PLACEHOLDER.sub("", text)
        return bool(re.search(r"[A-Za-z]{2,}", words)) and not CJK.search(words)

    latin_only = [e.describe() for e in messages if any(map(untranslated, e.msgstr.values()))]
    assert not latin_only, "translations with no Chinese character:\n" + "\n".join(latin_only)


def test_compiled_catalogue_matches_po(messages: list[Entry]) -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages"
    compiled = read_mo(MO_PATH.read_bytes())
    compiled.pop((None, ""), None)  # the header
    source = {e.key: [e.msgstr[i] for i in sorted(e.msgstr)] for e in messages}
    missing = sorted(str(k) for k in source.keys() - compiled.keys())
    stale = sorted(str(k) for k in compiled.keys() - source.keys())
    assert not missing and not stale, (
        "django.mo is out of date with django.po; run manage.py compilemessages\n"
        f"not compiled: {missing}\nno longer in .po: {stale}"
    )
    changed = sorted(str(k) for k in source if source[k] != compiled[k])
    assert not changed, f"translations changed since django.mo was compiled: {changed}"


@pytest.mark.parametrize(
    "english",
    ["Companies", "Employees", "Audit log", "Sign in", "Visitor management", "People & roles"],
)
def test_key_strings_render_in_chinese(english: str) -> None:
    with translation.override("zh-hans"):
        chinese = gettext(english)
    assert CJK.search(chinese), f"{english!r} -> {chinese!r}"
    with translation.override("en"):
        assert gettext(english) == english


def test_role_labels_and_plurals_render_in_chinese() -> None:
    from visit_platform.directory.choices import Role

    with translation.override("zh-hans"):
        for role in Role:
            assert CJK.search(str(role.label)), role
        assert str(Role.PROPERTY_ADMIN.label) == "物业管理员"
        assert str(Role.RECEPTION.label) == "前台"
        assert str(Role.SECURITY.label) == "安保"
        for n in (1, 2, 5):
            text = ngettext("Import %(n)s row", "Import %(n)s rows", n) % {"n": n}
            assert CJK.search(text) and str(n) in text
        assert "国贸大厦" in gettext("Welcome to %(name)s.") % {"name": "国贸大厦"}


def test_default_language_is_simplified_chinese() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.get_language() == "zh-hans"
        assert CJK.search(gettext("Overview"))


# The packages whose strings people see; tests and benchmarks are not translated.
TRANSLATED_PACKAGES = ("forms", "integrations", "kernel", "tenants", "visit_platform", "workflows")


def test_every_string_the_code_marks_for_translation_is_in_the_catalogue(tmp_path: Path) -> None:
    """Run makemessages on a copy of the code and its catalogue: a string marked for
    translation in the code or a template that the committed catalogue lacks comes out as a
    new, untranslated entry (and one whose wording changed, as a fuzzy one). The tests above
    only check the catalogue against itself; this one checks it against the code."""
    base = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in TRANSLATED_PACKAGES:
        shutil.copytree(base / package, copy / package, ignore=ignore)
    shutil.copytree(base / "locale", copy / "locale")
    shutil.copy(base / "manage.py", copy / "manage.py")
    # The copy's settings place its catalogue in the copy; makemessages touches no database.
    environment = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PYTHONPATH": str(copy),
    }
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    made = parse_po((copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text())
    missing = [
        e.describe()
        for e in made
        if (e.msgid or e.msgctxt) and ("fuzzy" in e.flags or not all(e.msgstr.values()))
    ]
    assert not missing, (
        "strings in the code without a translation (run manage.py makemessages -l zh_Hans, "
        "translate, compilemessages):\n" + "\n".join(missing)
    )

"""The audit log speaks plain language: every verb the code writes has a name in Chinese and
English, and an entry's details read as "label: value" pairs, never ``key=value``.

The verbs and detail keys are read from the source itself (every call of ``record`` and
``record_many``), so a new verb without a name fails here, not in front of a property admin.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import admin_of, client_for
from visit_platform.audit.actions import Actor, record
from visit_platform.audit.details import DETAIL_LABELS, describe, detail_label, detail_value
from visit_platform.audit.verbs import VERB_LABELS, verb_label

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRECTORIES = {".venv", "tests", "bench", ".data", "test-artifacts", "node_modules"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _sources() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(), str(path)))
        for path in sorted(ROOT.rglob("*.py"))
        if not SKIPPED_DIRECTORIES & set(path.relative_to(ROOT).parts)
    ]


def _literals(node: ast.expr) -> list[str] | None:
    """The strings an expression can be: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _audit_calls(tree: ast.Module) -> list[tuple[ast.Call, list[ast.AST]]]:
    """Each ``record(...)``/``record_many(...)`` call with its enclosing functions."""
    found: list[tuple[ast.Call, list[ast.AST]]] = []

    def walk(node: ast.AST, scopes: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                [*scopes, child]
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                else scopes
            )
            if isinstance(child, ast.Call):
                name = getattr(child.func, "id", None) or getattr(child.func, "attr", None)
                if name in ("record", "record_many") and len(child.args) >= 2:
                    found.append((child, scopes))
            walk(child, inner)

    walk(tree, [])
    return found


def _verbs_of(call: ast.Call, scopes: list[ast.AST], tree: ast.Module) -> list[str] | None:
    """The verbs a call can write: a literal; a local variable assigned literals; or a
    parameter of its function, given as a literal by every caller in the module."""
    verb = call.args[1]
    literals = _literals(verb)
    if literals is not None or not isinstance(verb, ast.Name) or not scopes:
        return literals
    function = scopes[-1]
    assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
    assigned = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == verb.id for t in node.targets)
    ]
    if assigned:
        values = [_literals(value) for value in assigned]
        return None if None in values else [v for vs in values if vs for v in vs]
    parameters = [argument.arg for argument in function.args.args]
    if verb.id not in parameters:
        return None
    position = parameters.index(verb.id)
    verbs: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == function.name:
            given = _literals(node.args[position]) if len(node.args) > position else None
            if given is None:
                return None
            verbs += given
    return verbs or None


def verbs_written_in_code() -> dict[str, str]:
    """Every verb some code writes, with one place that writes it."""
    verbs: dict[str, str] = {}
    unknown: list[str] = []
    for path, tree in _sources():
        for call, scopes in _audit_calls(tree):
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            found = _verbs_of(call, scopes, tree)
            if found is None:
                unknown.append(where)
            for verb in found or []:
                verbs.setdefault(verb, where)
    assert not unknown, f"audit verbs this test cannot read (write them as literals): {unknown}"
    return verbs


def detail_keys_written_in_code() -> dict[str, str]:
    keys: dict[str, str] = {}
    for path, tree in _sources():
        for call, _scopes in _audit_calls(tree):
            for keyword in call.keywords:
                if keyword.arg is not None:
                    keys.setdefault(keyword.arg, f"{path.relative_to(ROOT)}:{call.lineno}")
    return keys


def test_the_scan_finds_the_verbs_of_literal_conditional_and_passed_on_calls() -> None:
    verbs = verbs_written_in_code()

    assert "pass.issued" in verbs  # record(actor, "pass.issued", ...)
    assert {"controller.created", "controller.changed"} <= set(verbs)  # a if c else b
    assert {"visit.answers_viewed", "visit.answers_revealed"} <= set(verbs)  # a local
    assert {"company.updated", "host.updated"} <= set(verbs)  # a parameter
    assert len(verbs) > 80


def test_every_verb_written_in_code_has_a_label_in_both_languages() -> None:
    verbs = verbs_written_in_code()

    unnamed = {verb: where for verb, where in verbs.items() if verb not in VERB_LABELS}
    assert not unnamed, f"verbs without a label in visit_platform/audit/verbs.py: {unnamed}"
    for verb in verbs:
        with translation.override("en"):
            english = verb_label(verb)
        with translation.override("zh-hans"):
            chinese = verb_label(verb)
        assert english != verb and "." not in english.split()[0], (verb, english)
        assert CJK.search(chinese), f"{verb} has no Chinese label: {chinese!r}"


def test_every_detail_key_written_in_code_has_a_label_in_both_languages() -> None:
    keys = detail_keys_written_in_code()

    unnamed = {key: where for key, where in keys.items() if key not in DETAIL_LABELS}
    assert not unnamed, f"detail keys without a label in visit_platform/audit/details.py: {unnamed}"
    for key in keys:
        with translation.override("zh-hans"):
            assert CJK.search(detail_label(key)), key


def test_details_read_as_labels_and_words_in_chinese() -> None:
    detail = {
        "step": "hand_over",
        "host_consent": True,
        "checked_by_eye": False,
        "face_match_score": 92,
        "scenario": "walk_in",
        "fields": ["name", "floors"],
        "note": None,
    }

    with translation.override("zh-hans"):
        pairs = describe(detail)

    assert pairs == [
        ("步骤", "前台发放通行证"),
        ("被访人已同意", "是"),
        ("已人工核对", "否"),
        ("人脸比对", "92"),
        ("场景", "现场登记（有证件）"),
        ("字段", "name、floors"),
        ("备注", "—"),
    ]


def test_details_read_as_labels_and_words_in_english() -> None:
    with translation.override("en"):
        pairs = describe({"step": "hand_over", "host_consent": False, "decision": "approved"})

    assert pairs == [
        ("Step", "Reception hands over the pass"),
        ("Host agreed", "No"),
        ("Decision", "Approved"),
    ]


def test_a_policy_setting_is_named_by_the_policys_own_field() -> None:
    with translation.override("en"):
        label = detail_label("approval_hours", "workflows.scenariopolicy")

    assert label != "approval_hours"
    assert "_" not in label


def test_times_are_shown_in_local_time_without_the_iso_t() -> None:
    with translation.override("en"):
        text = detail_value("expires_at", "2026-12-06T05:30:00+00:00")

    assert text == "2026-12-06 13:30"  # Asia/Shanghai


@pytest.mark.django_db
def test_the_audit_log_page_shows_labels_and_pairs_never_raw_codes(alpha: Building) -> None:
    with schema_context(alpha.schema_name):
        record(
            Actor(user=admin_of(alpha)),
            "task.done",
            None,
            step="hand_over",
            host_consent=True,
            face_match_score=92,
        )
    client: Client = client_for(alpha, admin_of(alpha))

    chinese = client.get("/audit/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/audit/").content.decode()
    filtered = client.get("/audit/", {"verb": "task.done"}).content.decode()

    assert "完成了待办" in chinese
    assert "前台发放通行证" in chinese and "被访人已同意:</span> 是" in chinese
    assert "Finished a task" in english
    assert "Step:</span> Reception hands over the pass" in english
    assert "Host agreed:</span> Yes" in english
    for raw in ("step=hand_over", "host_consent=True", ">task.done<", "hand_over<"):
        assert raw not in chinese and raw not in english
    assert '<option value="task.done" selected>Finished a task</option>' in filtered

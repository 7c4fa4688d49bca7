"""Flows, timelines and flow diagrams in plain words: no section numbers of the spec in
titles, step details as sentences, and a diagram people can read in their language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from tenants.models import Building
from tests.conftest import admin_of, client_for
from tests.forms.conftest import make_host
from tests.workflows.test_flows import submit_request
from workflows.audit_words import flow_classes
from workflows.charts import FONT_SIZE, policy_chart_svg, text_width, wrap
from workflows.flows.visits import RequestFlow, WalkInFlow
from workflows.timeline import step_detail

SECTION_NUMBER = re.compile(r"\d+\.\d+")
POLICY = {
    "watchlist_hit": "security_review",
    "auto_approve_returning": False,
    "requires_approval": True,
    "escalate_to": "property",
    "reminder_hours": 2,
    "approval_hours": 24,
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_flow_and_step_titles_carry_no_section_numbers(language: str) -> None:
    with translation.override(language):
        titles = {
            flow_class.__name__: [
                str(flow_class.process_title),  # type: ignore[attr-defined]
                *(str(node.task_title) for node in flow_class.instance.nodes()),  # type: ignore[attr-defined]
            ]
            for flow_class in flow_classes()
        }

    for flow_name, names in titles.items():
        for title in names:
            assert title and not SECTION_NUMBER.search(title), (flow_name, title)
            assert "(" not in title, (flow_name, title)


def test_the_request_flow_is_called_what_the_scenario_is_called() -> None:
    with translation.override("zh-hans"):
        chinese = str(RequestFlow.process_title)
    with translation.override("en"):
        english = str(RequestFlow.process_title)

    assert (chinese, english) == ("预约登记", "Visit request")


def test_every_gateway_asks_a_question_in_both_languages() -> None:
    for flow_class in flow_classes():
        for node in flow_class.instance.nodes():  # type: ignore[attr-defined]
            if getattr(node, "bpmn_element", "") != "exclusiveGateway":
                continue
            with translation.override("zh-hans"):
                assert str(node.task_title).endswith("？"), (flow_class, node.name)
            with translation.override("en"):
                assert str(node.task_title).endswith("?"), (flow_class, node.name)


@pytest.mark.django_db
def test_the_task_list_names_the_flow_and_the_step_in_plain_words(in_alpha: Building) -> None:
    make_host()
    submit_request(in_alpha)
    client = client_for(in_alpha, admin_of(in_alpha))

    chinese = client.get("/tasks/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/tasks/").content.decode()

    assert "审批人审批" in chinese and '<div class="muted">预约登记</div>' in chinese
    assert "The approver decides" in english and '<div class="muted">Visit request</div>' in english
    assert "5.2." not in chinese and "5.2." not in english


# --- Timeline ------------------------------------------------------------------------------


def test_a_desk_check_reads_as_a_sentence_in_chinese() -> None:
    data = {"host_consent": True, "face_match_score": 92, "checked_by_eye": False, "by": "r@x"}

    with translation.override("zh-hans"):
        text = step_detail(data)

    assert text == "被访人已同意 · 人脸比对 92 分"


def test_a_desk_check_reads_as_a_sentence_in_english() -> None:
    data = {"host_consent": False, "face_match_score": None, "checked_by_eye": True}

    with translation.override("en"):
        text = step_detail(data)

    assert text == "Host did not agree · Checked by eye"


def test_the_route_and_the_separate_face_consent_read_as_words() -> None:
    data = {
        "host_consent": True,
        "identity_check": "face",
        "face_consent": True,
        "face_match_score": 93,
        "checked_by_eye": False,
    }

    with translation.override("zh-hans"):
        chinese = step_detail(data)
    with translation.override("en"):
        english = step_detail(data)

    assert chinese == "被访人已同意 · 人证核验: 人脸比对 · 访客同意人脸比对 · 人脸比对 93 分"
    assert english == (
        "Host agreed · Identity check: Face comparison · "
        "Visitor consented to the face comparison · Face match score 93"
    )


def test_a_decision_and_a_handover_are_named_not_coded() -> None:
    with translation.override("zh-hans"):
        decision = step_detail({"decision": "approved", "via": "wechat", "by": "host"})
        handed = step_detail({"handed_over": "sms"})
        approver = step_detail({"approver": "company_admin"})
    with translation.override("en"):
        english = step_detail({"decision": "rejected", "via": "link"})

    assert decision == "决定: 已批准 · 途径: 微信"
    assert handed == "发放方式: 短信"
    assert "company_admin" not in approver and "审批人" in approver
    assert english == "Decision: Rejected · Via: Link"


# --- The flow diagram ----------------------------------------------------------------------


def _font_sizes(svg: str) -> list[float]:
    return [float(size) for size in re.findall(r"font-size:\s*([\d.]+)px", svg)]


@pytest.mark.parametrize("flow_class", [RequestFlow, WalkInFlow])
def test_the_diagram_is_drawn_at_its_own_size_with_text_of_at_least_12_px(
    flow_class: Any,
) -> None:
    with translation.override("zh-hans"):
        svg = policy_chart_svg(flow_class, POLICY)

    width, height, box = re.search(
        r'<svg [^>]*width="(\d+)" height="(\d+)" viewBox="0 0 (\d+ \d+)"', svg
    ).groups()  # type: ignore[union-attr]
    assert box == f"{width} {height}"  # one unit is one pixel: the page does not shrink it
    assert _font_sizes(svg) and min(_font_sizes(svg)) >= 12
    assert 'font-size="11px"' not in svg and "Arial'" not in svg
    assert "Noto Sans CJK SC" in svg and "PingFang SC" in svg


def test_the_diagram_speaks_chinese() -> None:
    with translation.override("zh-hans"):
        svg = policy_chart_svg(RequestFlow, POLICY)

    edge_labels = re.findall(r'<text class="edge"[^>]*>([^<]*)</text>', svg)
    assert set(edge_labels) == {"是", "否"}
    assert ">是否需要审批？<" in svg
    assert ">来访已登记<" in svg
    assert not re.search(r">(yes|no|Yes|No)<", svg)
    assert "Check Decision" not in svg and "Route" not in svg


def test_the_diagram_speaks_english() -> None:
    with translation.override("en"):
        svg = policy_chart_svg(RequestFlow, POLICY)

    edge_labels = re.findall(r'<text class="edge"[^>]*>([^<]*)</text>', svg)
    assert set(edge_labels) == {"Yes", "No"}
    assert ">Visit registered<" in svg and ">Needs approval?<" in svg
    assert not re.search(r"[\u4e00-\u9fff]", svg)


def test_each_box_is_wide_and_tall_enough_for_its_lines() -> None:
    with translation.override("zh-hans"):
        svg = policy_chart_svg(RequestFlow, POLICY)

    groups = re.findall(
        r'<g id="(\w+)"[^>]*><title>[^<]*</title><(?:rect|path) class="shape" '
        r'(?:width="(\d+)" height="(\d+)"|d="[^"]*")[^>]*>(.*?)</g>',
        svg,
    )
    checked = 0
    for _name, width, height, inner in groups:
        lines = re.findall(r'<text class="label"[^>]*>([^<]*)</text>', inner)
        if not width or not lines:
            continue
        assert max(text_width(line, FONT_SIZE) for line in lines) <= int(width), lines
        assert len(lines) * 18 <= int(height), lines
        checked += 1
    assert checked >= 10


def test_chinese_wraps_between_characters_and_english_between_words() -> None:
    assert wrap("已升级：由升级对象审批", 126) == ["已升级：由升级对象", "审批"]
    assert wrap("Reception hands over the pass", 126) == ["Reception hands", "over the pass"]

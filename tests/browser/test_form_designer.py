"""The form designer and the visitor's form in a real browser: a property admin adds a field,
drags it into place and publishes; a visitor on a phone sees it, fills it in and sends it,
and the stored visit carries the new version. Screenshots are kept in docs/screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, screenshot
from tests.browser.test_console import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


def _keep(page: Any, name: str, full_page: bool = True) -> None:
    screenshot(page, name, full_page)


def _field_order(page: Any) -> list[str]:
    return page.locator("#field-list li").evaluate_all(
        "items => items.map(item => item.getAttribute('data-key'))"
    )


def test_a_field_added_in_the_designer_reaches_the_visitors_phone(
    browser: Any, live_building: LiveBuilding
) -> None:
    from playwright.sync_api import expect

    desk = browser.new_context(viewport={"width": 1560, "height": 1000}, locale="zh-CN")
    page = desk.new_page()
    sign_in(page, live_building, live_building.login_email("admin"))
    page.goto(f"{live_building.url}/forms/")
    with page.expect_navigation():
        page.click('#form-list tr[data-scenario="request"] a')
    expect(page.locator("#field-list li").first).to_be_visible()

    # A sensitive field warns at once and cannot be saved without a consent field.
    page.select_option("#new-type", "id_document")
    page.click("#add-field")
    expect(page.locator("#sensitive-warning")).to_be_visible()
    page.click("#save-draft")
    expect(page.locator("#designer-status")).to_contain_text("id_document_1")
    expect(page.locator("#designer-status")).to_contain_text("授权同意字段")
    expect(page.locator('#field-list li[data-key="id_document_1"]')).to_have_class(
        re.compile(r"\binvalid\b")
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('#field-list li[data-key="id_document_1"] button.danger').click()
    expect(page.locator('#field-list li[data-key="id_document_1"]')).to_have_count(0)
    # Locked fields cannot be removed: they have no remove button.
    expect(page.locator('#field-list li[data-key="host_mobile"] button.danger')).to_have_count(0)

    page.select_option("#new-type", "text")
    page.click("#add-field")
    page.fill("#editor input[name=key]", "visitor_company")
    page.fill('#editor [data-attribute="label.zh-hans"]', "访客单位")
    page.fill('#editor [data-attribute="label.en"]', "Visitor's company")
    page.fill('#editor [data-attribute="help.zh-hans"]', "请填写您所在单位的全称")
    page.check("#editor input[name=required]")
    page.locator('#field-list li[data-key="visitor_company"]').drag_to(
        page.locator('#field-list li[data-key="purpose"]')
    )
    order = _field_order(page)
    assert order.index("visitor_company") == order.index("purpose") - 1
    preview = page.frame_locator("#preview")
    expect(preview.get_by_text("访客单位")).to_be_visible()
    page.click('#field-list li[data-key="visitor_company"]')
    _keep(page, "form-designer", full_page=False)

    with page.expect_navigation():
        page.click("#publish")
    expect(page.locator('#versions tr[data-version="2"]')).to_contain_text("v2")
    desk.close()

    phone_context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    phone = phone_context.new_page()
    phone.goto(f"{live_building.url}/visit/request/")
    company_field = phone.locator("#id_visitor_company")
    expect(company_field).to_be_visible()
    expect(phone.locator('label[for="id_visitor_company"]')).to_contain_text("访客单位")
    expect(phone.locator("#id_plate_number")).to_be_hidden()
    phone.fill("#id_visitor_name", "王小明")
    phone.fill("#id_visitor_mobile", "138 0013 8123")
    phone.fill("#id_host_mobile", "13911110001")
    phone.select_option("#id_purpose", "business")
    company_field.fill("星光科技有限公司")
    phone.check("#id_by_car")
    expect(phone.locator("#id_plate_number")).to_be_visible()
    phone.fill("#id_plate_number", "沪A12345")
    _keep(phone, "form-mobile")
    with phone.expect_navigation():
        phone.click("button.ff-submit")
    expect(phone.locator("#sent")).to_be_visible()
    phone_context.close()

    visit = _stored_visit(live_building.building.schema_name, "+8613800138123")
    assert visit["version"] == 2
    assert visit["answers"]["visitor_company"] == "星光科技有限公司"
    assert visit["answers"]["plate_number"] == "沪A12345"
    assert visit["host_mobile"] == "+8613911110001"
    keys = [spec["key"] for spec in visit["fields"]]
    assert keys.index("visitor_company") == keys.index("purpose") - 1


def _stored_visit(schema: str, mobile: str) -> dict[str, Any]:
    """What the live server committed, read through a connection of this test's own: the
    test's usual connection may have been ended by an earlier browser module's clean-up."""
    from django.db import connections

    from visit_platform.visits.models import index_of_mobile

    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{schema}", public')
            cursor.execute(
                "SELECT v.answers, f.number, f.fields, h.mobile FROM visits_visit v "
                "JOIN visits_visitor p ON p.id = v.visitor_id "
                "JOIN forms_formversion f ON f.id = v.form_version_id "
                "JOIN directory_host h ON h.id = v.host_id WHERE p.mobile_index = %s",
                [index_of_mobile(mobile)],  # the mobile itself is encrypted (ADR 0033)
            )
            rows = cursor.fetchall()
    finally:
        own.close()
    assert len(rows) == 1
    answers, number, fields, host_mobile = rows[0]
    return {
        "answers": _json(answers),
        "version": number,
        "fields": _json(fields),
        "host_mobile": host_mobile,
    }


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_reception_sees_a_wrong_resident_id_on_its_field_then_registers_the_visitor(
    browser: Any, live_building: LiveBuilding
) -> None:
    from playwright.sync_api import expect

    desk = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    sign_in(page, live_building, live_building.login_email("admin"))
    page.goto(f"{live_building.url}/reception/walk_in/")
    page.fill("#id_visitor_name", "赵敏")
    page.fill("#id_visitor_mobile", "13800138124")
    page.select_option("#id_id_document_0", "resident_id")
    page.fill("#id_id_document_1", "110105194912310021")
    page.fill("#id_host_mobile", "13911110001")
    page.select_option("#id_purpose", "business")
    page.check("#id_privacy_consent")
    with page.expect_navigation():
        page.click("#registration button[type=submit]")

    error = page.locator('.ff[data-key="id_document"] .ff-error')
    expect(error).to_have_text("这不是有效的居民身份证号码。")
    assert page.locator(".ff-error").count() == 1
    _keep(page, "form-reception-error", full_page=False)
    page.fill("#id_id_document_1", "11010519491231002X")
    page.check("#id_privacy_consent")
    with page.expect_navigation():
        page.click("#registration button[type=submit]")

    assert "/tasks/" in page.url  # on to the desk check, screen 2 of the walk-in
    # The answers page of the visit just registered (the walk-in: it starts now, so it is not
    # first in the list), from the visits list.
    page.goto(page.url.split("/tasks/")[0] + "/visits/?scenario=walk_in")
    page.locator("a[href$='/answers/']").first.click()
    answers = page.locator("#answers")
    expect(answers.locator('tr[data-key="id_document"] td')).to_contain_text("1101**********002X")
    assert "11010519491231002X" not in answers.inner_text()
    desk.close()

"""An export in the browser, at desktop and phone width: the person starts it from the records
page's Export control, the progress bar follows the job (written by the real Celery task) to
100 %, and the download link hands over the file, which reads back with its rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ADMIN = "admin@demo.example.com"
SHANGHAI = ZoneInfo("Asia/Shanghai")
VISITS = 30
SIZES = {"desktop": {"width": 1280, "height": 820}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def with_visits(live_building: LiveBuilding, django_db_blocker: Any) -> LiveBuilding:
    """Thirty visits to 张伟 (星河科技) on the first days of November 2026."""

    def seed() -> None:
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Host
        from visit_platform.visits.actions import create_visit, register_visitor
        from visit_platform.visits.choices import Scenario, VisitStatus

        actor = Actor.system("tests")
        host = Host.objects.get(mobile="+8613911110001")
        for number in range(VISITS):
            visitor = register_visitor(
                actor,
                name=f"访客{number}",
                mobile=f"138000001{number:02d}",
                id_type="",
                id_number="",
            )
            start = datetime(2026, 11, 1 + number % 10, 9, number, tzinfo=SHANGHAI)
            create_visit(
                actor,
                scenario=Scenario.INVITE,
                visitor=visitor,
                host=host,
                valid_from=start,
                valid_until=start + timedelta(hours=2),
                status=VisitStatus.APPROVED,
            )

    run_committed(live_building, django_db_blocker, seed)
    return live_building


@pytest.fixture
def exports_dir(tmp_path: Path) -> Iterator[Path]:
    from django.test import override_settings

    with override_settings(EXPORTS_DIR=tmp_path / "exports"):
        yield tmp_path / "exports"


def signed_in(browser: Any, live: LiveBuilding, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def _run_the_job(live: LiveBuilding, django_db_blocker: Any, job_id: int) -> None:
    def work() -> None:
        from visit_platform.reports.tasks import build_export_task

        build_export_task.apply(args=[job_id])

    run_committed(live, django_db_blocker, work)


@pytest.mark.parametrize("size", list(SIZES))
def test_an_export_is_started_followed_to_100_percent_and_downloaded(
    browser: Any,
    with_visits: LiveBuilding,
    django_db_blocker: Any,
    exports_dir: Path,
    tmp_path: Path,
    size: str,
) -> None:
    page = signed_in(browser, with_visits, SIZES[size])
    try:
        # From the records page's Export control: its filter comes along.
        page.goto(f"{with_visits.url}/records/?tab=visits&start=2026-11-01&end=2026-11-30")
        with page.expect_navigation():
            page.click("[data-test=export]")
        assert page.locator("#export-source").input_value() == "visits"
        assert page.locator("#export-start").input_value() == "2026-11-01"
        assert page.locator("#export-end").input_value() == "2026-11-30"
        page.select_option("#export-format", "xlsx")
        screenshot(page, f"export-form-{size}")
        with page.expect_navigation():
            page.click("#export-form button[type=submit]")

        # Queued: nothing written yet, the total known.
        assert page.locator("[data-bar]").evaluate("bar => bar.value") == 0
        assert page.locator("[data-rows-text]").inner_text() == f"0 / {VISITS} 行"
        assert page.locator("[data-download]").is_hidden()
        screenshot(page, f"export-queued-{size}")
        job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

        _run_the_job(with_visits, django_db_blocker, job_id)

        wait_for(page, "() => document.querySelector('[data-bar]').value === 100")
        wait_for(page, "() => !document.querySelector('[data-download]').hidden")
        assert page.locator("[data-percent]").inner_text() == "100 %"
        assert page.locator("[data-rows-text]").inner_text() == f"{VISITS} / {VISITS} 行"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= SIZES[size]["width"]
        screenshot(page, f"export-done-{size}")

        with page.expect_download() as download_info:
            page.click("[data-download]")
        saved = tmp_path / "download.xlsx"
        download_info.value.save_as(saved)
        rows = list(openpyxl.load_workbook(saved).worksheets[0].iter_rows(values_only=True))
        assert len(rows) == VISITS + 1
        assert {row[6] for row in rows[1:]} == {"张伟"}

        page.goto(f"{with_visits.url}/exports/")
        assert page.locator("#export-jobs tbody tr").count() >= 1
        assert page.evaluate("() => document.documentElement.scrollWidth") <= SIZES[size]["width"]
        screenshot(page, f"exports-list-{size}")
    finally:
        page.context.close()

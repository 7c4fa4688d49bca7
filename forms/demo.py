"""Forms for the demo building: the default form of every scenario, and one walk-in visitor
registered through the walk-in form so the answers page has something to show."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from forms.actions import ensure_default_forms, submit
from forms.queries import current_version
from forms.validation import validate_answers
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit


def seed_demo_forms() -> str:
    """Make sure every scenario has a published form; return the visitor's request form path."""
    actor = Actor.system("demo")
    ensure_default_forms(actor)
    if not Visit.objects.filter(form_version__isnull=False).exists():
        start = timezone.now().replace(minute=0, second=0, microsecond=0)
        answers = {
            "visitor_name": "李明",
            "visitor_mobile": "13600136000",
            "id_document": {"type": "resident_id", "number": "11010519491231002X"},
            "host_mobile": "13911110001",
            "visit_start": start.isoformat(),
            "visit_end": (start + timedelta(hours=3)).isoformat(),
            "purpose": "business",
            "privacy_consent": True,
        }
        submit(actor, validate_answers(current_version(Scenario.WALK_IN), answers))
    return reverse("forms:visitor_form", kwargs={"scenario": Scenario.REQUEST})

"""Console pages where property admins set how each scenario runs, without code."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import MANAGE_POLICIES
from visit_platform.errors import DomainError
from visit_platform.privacy import mask_name
from visit_platform.web.decorators import console_view
from workflows.actions import decide_by_link, open_action_link
from workflows.models import POLICY_FIELDS, ScenarioPolicy
from workflows.policies import update_policy


class PolicyForm(forms.ModelForm):
    class Meta:
        model = ScenarioPolicy
        fields = POLICY_FIELDS


@console_view(MANAGE_POLICIES)
def policy_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "workflows/policy_list.html",
        {"section": "policies", "policies": ScenarioPolicy.objects.all()},
    )


@console_view(MANAGE_POLICIES)
def policy_edit(request: HttpRequest, scenario: str) -> HttpResponse:
    policy = ScenarioPolicy.objects.filter(scenario=scenario).first()
    if policy is None:
        raise Http404
    # The form only reads and checks the input; the action changes the policy.
    form = PolicyForm(request.POST or None, instance=ScenarioPolicy(**policy.snapshot()))
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in POLICY_FIELDS}
        try:
            update_policy(Actor.from_request(request), policy, changes)
        except DomainError as error:
            form.add_error(error.details.get("field"), error.message)
        else:
            messages.success(
                request, _("Saved. New visits follow it; visits under way keep theirs.")
            )
            return redirect("workflows:policy_list")
    return render(
        request,
        "workflows/policy_form.html",
        {"section": "policies", "policy": policy, "form": form},
    )


# --- The host's decision page (mobile, no account: the link is the authority) ---------------


def decision_page(request: HttpRequest, code: str) -> HttpResponse:
    try:
        link = open_action_link(code)
    except DomainError as error:
        return render(
            request,
            "workflows/decision_closed.html",
            {"message": error.message},
            status=error.status,
        )
    visit = link.visit
    problem = ""
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            visit = decide_by_link(code, approve=approve, reason=request.POST.get("reason", ""))
        except DomainError as error:
            problem = error.message
        else:
            return render(request, "workflows/decision_done.html", {"visit": visit})
    return render(
        request,
        "workflows/decision_page.html",
        {
            "visit": visit,
            "visitor_name": mask_name(visit.visitor.name),
            "host": link.host,
            "problem": problem,
            "reason": request.POST.get("reason", "")[:200],
        },
        status=400 if problem else 200,
    )

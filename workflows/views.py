"""Console pages of the flows: the task queue and each task's screen, a visit's timeline,
the scenario policies with their flow diagrams, reception's identity check; and the host's
mobile decision page."""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from viewflow.workflow.models import Task

from kernel.console import console_view
from kernel.errors import ConflictError, DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile, mask_name
from kernel.rate_limits import limit_posts
from visit_platform.access.actions import MAX_REVOKE_REASON
from visit_platform.access.choices import PassState
from visit_platform.access.models import Pass
from visit_platform.access.queries import pass_state
from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import (
    MANAGE_POLICIES,
    REGISTER_VISITS,
    REVOKE_PASSES,
    VIEW_TASKS,
    VIEW_VISIT,
    sees_full_names,
    visitor_name_for,
)
from visit_platform.visits.actions import note_visits_viewed, settle_identity
from visit_platform.visits.choices import IdentityChoice, VisitStatus
from visit_platform.visits.models import Visit
from workflows import actions
from workflows.actions import DESK_SCENARIOS, decide_by_link, open_action_link, start_visit_flow
from workflows.actions.face_consent import (
    change_face_consent_text,
    face_consent_text_in_force,
    has_face_consent,
    record_face_consent,
)
from workflows.actions.policies import update_policy
from workflows.actions.tasks import photo_in_answers
from workflows.choices import IdentityCheck
from workflows.constants import MAX_FACE_CONSENT_CHARS
from workflows.models import POLICY_FIELDS, FaceConsentText, ScenarioPolicy, VisitProcess
from workflows.policies import policy_snapshot
from workflows.queries import latest_face_match, may_act_on, visible_tasks
from workflows.timeline import visit_timeline


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
        {
            "section": "policies",
            "policy": policy,
            "form": form,
            "chart_url": reverse("workflows:policy_chart", args=[scenario])
            if actions.flow_of(scenario)
            else "",
        },
    )


# --- The host's decision page (mobile, no account: the link is the authority) ---------------


# The values of the decision page's two buttons.
DECISIONS = frozenset({"approve", "reject"})


@limit_posts("decision_link")
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
    decision = request.POST.get("decision")
    if request.method == "POST" and decision not in DECISIONS:
        # Anything but the page's two buttons is a forged or broken post: never a refusal.
        problem = _("Choose to approve or to refuse the visit.")
    elif request.method == "POST":
        try:
            visit = decide_by_link(
                code, approve=decision == "approve", reason=request.POST.get("reason", "")
            )
        except DomainError as error:
            problem = error.message
        else:
            return render(request, "workflows/decision_done.html", {"visit": visit})
    return render(
        request,
        "workflows/decision_page.html",
        {
            "visit": visit,
            "visitor_name": mask_name(visit.visitor_name),
            "host": link.host,
            "problem": problem,
            "reason": request.POST.get("reason", "")[:200],
        },
        status=400 if problem else 200,
    )


# --- Tasks: the queue, claiming, and each step's screen -------------------------------------


def _task_row(task: Task, user: Any) -> dict[str, Any]:
    process = getattr(task.process, "visitprocess", None)
    visit = process.visit if process is not None else None
    return {
        "task": task,
        "title": task.flow_task.task_title or str(task.flow_task),
        "flow": task.flow_task.flow_class.process_title,
        "visit": visit,
        "visitor_name": visitor_name_for(user, visit.visitor_name) if visit else "",
        "mine": task.owner_id == user.pk,
        "claimed_by": task.owner.email if task.owner_id and task.owner_id != user.pk else "",
    }


@console_view(VIEW_TASKS)
def task_list(request: HttpRequest) -> HttpResponse:
    """The person's tasks: their own first, then the queue they may take from, oldest
    first (the visitor who has waited longest), and what colleagues are working on."""
    rows = [_task_row(task, request.user) for task in visible_tasks(request.user)[:200]]
    if sees_full_names(request.user):
        # Reception sees who waits by name: a view of personal data, audited (ADR 0027).
        note_visits_viewed(
            Actor.from_request(request),
            page="tasks",
            visits=sum(1 for row in rows if row["visit"] is not None),
            full_names=True,
        )
    mine = [row for row in rows if row["mine"]]
    queue = [row for row in rows if not row["task"].owner_id]
    taken = [row for row in rows if row["claimed_by"]]
    return render(
        request,
        "workflows/task_list.html",
        {"section": "tasks", "mine": mine, "queue": queue, "taken": taken},
    )


def _visible_task(request: HttpRequest, pk: int) -> Task:
    task = visible_tasks(request.user).filter(pk=pk).first()
    if task is None:
        raise Http404
    return task


@require_POST
@console_view(VIEW_TASKS)
def task_claim(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    try:
        actions.claim_task(Actor.from_request(request), task)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("workflows:task_list")
    return redirect("workflows:task_page", pk=task.pk)


@require_POST
@console_view(VIEW_TASKS)
def task_release(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    if task.owner_id != request.user.pk:
        messages.error(request, _("Only the person working on a task can put it back."))
    else:
        try:
            actions.release_task(Actor.from_request(request), task)
        except DomainError as error:
            messages.error(request, error.message)
    return redirect("workflows:task_list")


def next_task_for(user: Any, visit: Visit) -> Task | None:
    """The visit's next task this person may do, to carry reception from screen to screen."""
    return (
        visible_tasks(user)
        .filter(process__visitprocess__visit=visit)
        .filter(owner=user)
        .order_by("created")
        .first()
    )


def _after_task(request: HttpRequest, visit: Visit) -> HttpResponse:
    following = next_task_for(request.user, visit)
    if following is not None:
        return redirect("workflows:task_page", pk=following.pk)
    return redirect("workflows:task_list")


def continue_at_desk(request: HttpRequest, visit: Visit) -> HttpResponse:
    """Where reception goes once a walk-in is registered: to the identity check when the
    typed details contradict the visitor on file (nothing is sent until reception decides);
    else the visit's flow starts (once: a resent form finds it on its way) and reception
    goes straight to the desk check, unless the flow stopped for security."""
    if visit.has_identity_conflict:
        return redirect("workflows:desk_identity", pk=visit.pk)
    if not VisitProcess.objects.filter(visit=visit).exists():
        # The same form sent twice at once: the other request may have started it meanwhile.
        with contextlib.suppress(ConflictError):
            start_visit_flow(Actor.from_request(request), visit)
    visit.refresh_from_db()
    task = next_task_for(request.user, visit)
    if task is not None:
        return redirect("workflows:task_page", pk=task.pk)
    if visit.status == VisitStatus.REJECTED:
        messages.error(request, _("This visitor cannot be registered. Call security."))
    else:
        messages.info(request, _("The visitor is registered and waits for the next step."))
    return redirect("workflows:task_list")


@console_view(REGISTER_VISITS)
def desk_identity(request: HttpRequest, pk: int) -> HttpResponse:
    """The document number typed at the desk belongs to a visitor on file with another name
    or mobile. Reception sees both (what is on file masked: enough to compare with what the
    visitor says, not to copy) and decides which hold before the visit goes on."""
    visit = (
        Visit.objects.select_related("visitor", "host__company")
        .filter(pk=pk, scenario__in=DESK_SCENARIOS)
        .first()
    )
    if visit is None:
        raise Http404
    if not visit.has_identity_conflict:
        return continue_at_desk(request, visit)  # settled meanwhile, by a colleague
    problem: DomainError | None = None
    if request.method == "POST":
        try:
            visit = settle_identity(
                Actor.from_request(request), visit, keep=request.POST.get("keep", "")
            )
        except ConflictError as error:
            messages.warning(request, error.message)
            visit.refresh_from_db()
            return continue_at_desk(request, visit)
        except DomainError as error:
            problem = error
        else:
            if request.POST.get("keep") == IdentityChoice.TYPED:
                messages.success(request, _("The visitor's record now has the details typed."))
            else:
                messages.success(request, _("The visit goes on with the details on file."))
            return continue_at_desk(request, visit)
    stored = visit.visitor
    context = {
        "section": "reception",
        "visit": visit,
        "document": stored.masked_id_number,
        "document_type": stored.get_id_type_display(),
        "stored_name": mask_name(stored.name),
        "stored_mobile": mask_mobile(display_mobile(stored.mobile)) if stored.mobile else "",
        "typed_name": visit.contact_name,
        "typed_mobile": display_mobile(visit.contact_mobile) if visit.contact_mobile else "",
        "name_differs": visit.contact_name != stored.name,
        "mobile_differs": bool(visit.contact_mobile) and visit.contact_mobile != stored.mobile,
        "choices": IdentityChoice,
        "problem": problem,
    }
    return render(
        request, "workflows/desk_identity.html", context, status=problem.status if problem else 200
    )


_STEP_TEMPLATES = {
    "approve": "workflows/task_approve.html",
    "approve_escalated": "workflows/task_approve.html",
    "security_review": "workflows/task_review.html",
    "verify": "workflows/task_verify.html",
    "hand_over": "workflows/task_hand_over.html",
}


@console_view(VIEW_TASKS)
def task_page(request: HttpRequest, pk: int, **_kwargs: Any) -> HttpResponse:
    """One task's screen. Acting needs the task to be the person's own, or unclaimed in
    their queue (a POST claims it on the way); a task someone else took is shown, not done."""
    task = visible_tasks(request.user).filter(pk=pk).first()
    if task is None:
        return _closed_task(request, pk)
    name = task.flow_task.name
    if name not in _STEP_TEMPLATES:
        raise Http404
    process = VisitProcess.objects.select_related("visit__visitor", "visit__host__company").get(
        pk=task.process_id
    )
    visit = process.visit
    actor = Actor.from_request(request)
    problem: DomainError | None = None
    if request.method == "POST":
        if not may_act_on(request.user, task):
            problem = ConflictError("task_taken", _("Someone else is working on this visitor."))
        else:
            try:
                _act(request, actor, task, name)
            except DomainError as error:
                problem = error
            else:
                messages.success(request, _("Done."))
                return _after_task(request, visit)
    if sees_full_names(request.user):
        note_visits_viewed(actor, page="task", task=task.pk, visit=visit.pk, full_names=True)
    context = {
        "section": "tasks",
        "task": task,
        "title": task.flow_task.task_title or str(task.flow_task),
        "process": process,
        "visit": visit,
        "visitor_name": visitor_name_for(request.user, visit.visitor_name),
        "visitor_mobile": mask_mobile(display_mobile(visit.visitor_mobile))
        if visit.visitor_mobile
        else "",
        "policy": process.policy,
        "can_act": may_act_on(request.user, task),
        "problem": problem,
        "posted": request.POST,
        "pass_record": Pass.objects.filter(visit=visit, revoked_at__isnull=True)
        .order_by("-pk")
        .first(),
        "timeline": visit_timeline(visit),
    }
    if name == "verify":
        context.update(_desk_check_context(process))
    return render(
        request, _STEP_TEMPLATES[name], context, status=problem.status if problem else 200
    )


def _desk_check_context(process: VisitProcess) -> dict[str, Any]:
    """What the desk check shows besides the task: the face consent text (the one the
    visitor agreed to, or the one in force to ask them), whether the photo is still needed
    once they consent (the no-ID form may have taken it), the routes to the
    visitor's identity, and the terminal's latest score, which the page keeps polling for."""
    visit = process.visit
    consented = has_face_consent(process)
    return {
        "face_consented": consented,
        "face_consent_given": _face_consent_given(process)["message"] if consented else "",
        "face_consent_text": process.face_consent_text
        if consented
        else face_consent_text_in_force(),
        "photo_needed": bool(process.setting("photo_required"))
        and not (visit.visitor.photo or photo_in_answers(visit)),
        "identity_checks": IdentityCheck,
        "face_match": latest_face_match(process),
    }


@require_POST
@console_view(VIEW_TASKS)
def task_face_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """The visitor agreed to the face consent text reception showed them (its version is
    posted back). Answers the desk check's script in JSON, or a plain form with a redirect
    back to the desk check."""
    task = _visible_task(request, pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    problem: DomainError | None = None
    version = request.POST.get("version", "")
    if not may_act_on(request.user, task):
        problem = ConflictError("task_taken", _("Someone else is working on this visitor."))
    elif not (version.isascii() and version.isdigit() and len(version) <= 9 and int(version)):
        problem = DomainError(
            "invalid_version", _("The consent text's version is missing or malformed.")
        )
    else:
        try:
            process = record_face_consent(Actor.from_request(request), task, version=int(version))
        except DomainError as error:
            problem = error
    if wants_json:
        if problem is not None:
            return JsonResponse(problem.as_dict(), status=problem.status)
        return JsonResponse(_face_consent_given(process))
    if problem is not None:
        messages.warning(request, problem.message)
    else:
        messages.success(request, _face_consent_given(process)["message"])
    return redirect("workflows:task_page", pk=task.pk)


def _face_consent_given(process: VisitProcess) -> dict[str, Any]:
    assert process.face_consent_text is not None and process.face_consent_at is not None
    version = process.face_consent_text.version
    return {
        "version": version,
        "consented_at": process.face_consent_at.isoformat(),
        "message": _(
            "The visitor agreed to version %(version)s of the face consent text at %(at)s "
            "(recorded by %(by)s)."
        )
        % {
            "version": version,
            "at": timezone.localtime(process.face_consent_at).strftime("%H:%M"),
            "by": process.face_consent_by.email if process.face_consent_by else "—",
        },
    }


@console_view(MANAGE_POLICIES)
def face_consent_page(request: HttpRequest) -> HttpResponse:
    """The building's face consent text, in Chinese and English, with its version: saving
    other words makes a new version; consents already given keep theirs."""
    current = face_consent_text_in_force()
    problem: DomainError | None = None
    if request.method == "POST":
        try:
            text = change_face_consent_text(
                Actor.from_request(request),
                text_zh=request.POST.get("text_zh", "")[: MAX_FACE_CONSENT_CHARS + 1],
                text_en=request.POST.get("text_en", "")[: MAX_FACE_CONSENT_CHARS + 1],
            )
        except DomainError as error:
            problem = error
        else:
            if text.version == current.version:
                messages.info(
                    request,
                    _("The text is unchanged; it stays version %(version)s.")
                    % {"version": text.version},
                )
            else:
                messages.success(
                    request,
                    _("Saved as version %(version)s. Consents already given keep theirs.")
                    % {"version": text.version},
                )
            return redirect("workflows:face_consent")
    return render(
        request,
        "workflows/face_consent.html",
        {
            "section": "policies",
            "current": current,
            "versions": FaceConsentText.objects.order_by("-version")[:20],
            "posted": request.POST,
            "problem": problem,
            "max_chars": MAX_FACE_CONSENT_CHARS,
        },
        status=problem.status if problem else 200,
    )


@console_view(VIEW_TASKS)
def task_face_match(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk check's latest face comparison, polled by the page (desk_check.js) so the
    terminal's score appears without reception typing anything."""
    task = _visible_task(request, pk)
    process = VisitProcess.objects.filter(pk=task.process_id).first()
    if process is None or task.flow_task.name != "verify":
        raise Http404
    report = latest_face_match(process)
    threshold = int(process.setting("face_match_threshold"))
    body: dict[str, Any] = {"score": None, "threshold": threshold}
    if report is not None:
        body.update(
            score=report.score,
            passes=report.score >= threshold,
            source=report.terminal.name if report.terminal else _("the server"),
            vendor=report.vendor,
            model=report.model,
        )
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


def _closed_task(request: HttpRequest, pk: int) -> HttpResponse:
    """A task done meanwhile (by a colleague, the host's link, a timer): say so plainly to
    those who could have done it; to anyone else it does not exist."""
    task = Task.objects.filter(pk=pk, flow_task_type="HUMAN", finished__isnull=False).first()
    process = VisitProcess.objects.filter(pk=task.process_id).first() if task else None
    if task is None or process is None:
        raise Http404
    could_have = task.owner_id == request.user.pk or (
        bool(task.owner_permission) and request.user.has_perm(task.owner_permission, process.visit)
    )
    if not could_have:
        raise Http404
    visit = process.visit
    return render(
        request,
        "workflows/task_closed.html",
        {
            "section": "tasks",
            "visit": visit,
            "visitor_name": mask_name(visit.visitor_name),
            "done_by": task.data.get("by") or (task.owner.email if task.owner_id else ""),
            "timeline": visit_timeline(visit),
        },
        status=409,
    )


def _act(request: HttpRequest, actor: Actor, task: Task, name: str) -> None:
    post = request.POST
    if name in ("approve", "approve_escalated"):
        actions.decide_task(
            actor,
            task,
            approve=post.get("decision") == "approve",
            reason=post.get("reason", "")[:1000],
        )
    elif name == "security_review":
        actions.review_watchlist_hit(
            actor, task, clear=post.get("decision") == "clear", note=post.get("note", "")[:1000]
        )
    elif name == "verify":
        actions.verify_at_desk(
            actor,
            task,
            host_consent=post.get("host_consent") == "yes",
            consent_note=post.get("consent_note", "")[:200],
            photo=request.FILES.get("photo"),
            identity_check=post.get("identity_check", ""),
            checked_by_eye=post.get("checked_by_eye") == "on",
            id_photo=request.FILES.get("id_photo"),
        )
    elif name == "hand_over":
        actions.hand_over_pass(actor, task, by_sms=post.get("how") == "sms")


# --- A visit's timeline ---------------------------------------------------------------------


@console_view(VIEW_VISIT)
def visit_timeline_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Every step of one visit, with who did it and when: from invitation or application
    to exit. Company-scoped people see their own company's visits only; reception and
    security see the visitor's whole name, and that view is audited."""
    visit = Visit.objects.select_related("visitor", "host__company").filter(pk=pk).first()
    if visit is None or not request.user.has_perm(VIEW_VISIT, visit):
        raise Http404
    may_revoke = request.user.has_perm(REVOKE_PASSES, visit)
    passes = []
    for pass_record in visit.passes.order_by("-created_at", "-pk"):
        pass_record.visit = visit
        state = pass_state(pass_record)
        passes.append(
            {
                "pass": pass_record,
                "state": state,
                "state_label": state.label,
                # Only a pass that may still let someone in has anything left to revoke.
                "revocable": may_revoke and state in {PassState.VALID, PassState.NOT_YET_VALID},
            }
        )
    if sees_full_names(request.user):
        note_visits_viewed(
            Actor.from_request(request), page="timeline", visits=[visit.pk], full_names=True
        )
    return render(
        request,
        "workflows/visit_timeline.html",
        {
            "section": "visits",
            "visit": visit,
            "visitor_name": visitor_name_for(request.user, visit.visitor_name),
            "timeline": visit_timeline(visit),
            "flow_chart_url": reverse("workflows:policy_chart", args=[visit.scenario]),
            "passes": passes,
            "max_revoke_reason": MAX_REVOKE_REASON,
        },
    )


@console_view(VIEW_VISIT)
def policy_chart(request: HttpRequest, scenario: str) -> HttpResponse:
    """The scenario's flow as viewflow draws it, with the branches the building's current
    policy takes marked (green)."""
    from workflows.charts import policy_chart_svg

    flow_class = actions.flow_of(scenario)
    if flow_class is None:
        raise Http404
    svg = policy_chart_svg(flow_class, policy_snapshot(scenario))
    return HttpResponse(svg, content_type="image/svg+xml")

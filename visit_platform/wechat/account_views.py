"""The console's WeChat pages: the building's Official Account (what to paste into WeChat's
admin page, the form to set it up, "Check" and "Push menu"), and the scene QR codes for
posters: the building's "apply to visit" code, a host's personal code, an event's code.

A property admin sees and changes only the account of their own building; when that account
also serves other buildings, the page says which.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kernel.console import console_view
from kernel.errors import DomainError
from tenants.db import current_schema
from tenants.models import OfficialAccount
from tenants.official_accounts import masked
from visit_platform.audit.actions import Actor
from visit_platform.directory.forms import add_domain_error
from visit_platform.directory.invite_tokens import host_invite_token
from visit_platform.directory.queries import visible_hosts
from visit_platform.directory.roles import CHANGE_HOST, MANAGE_WECHAT, ORGANISE_EVENTS
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.wechat import account_of_building
from visit_platform.notifications.wechat_accounts import (
    NOTICES,
    AccountFields,
    callback_url,
    check_account,
    push_menu,
    save_official_account,
    scene_code_png,
)
from visit_platform.notifications.wechat_scenes import APPLY, EVENT, HOST, Scene
from visit_platform.visits.invite_tokens import event_invite_token
from visit_platform.visits.queries import visible_events


class AccountForm(forms.Form):
    """Shapes the input; ``save_official_account`` checks it and decides."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    appid = forms.CharField(
        label=gettext_lazy("AppID"),
        max_length=32,
        help_text=gettext_lazy("From WeChat's admin page: 设置与开发 › 基本配置."),
    )
    secret = forms.CharField(
        label=gettext_lazy("AppSecret"),
        max_length=64,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    token = forms.CharField(label=gettext_lazy("Token"), max_length=32, required=False)
    encoding_aes_key = forms.CharField(
        label=gettext_lazy("EncodingAESKey"), max_length=43, required=False
    )
    require_encryption = forms.BooleanField(
        label=gettext_lazy("Safe mode only (refuse unencrypted messages)"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, account: OfficialAccount | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for notice in NOTICES:
            self.fields[f"template_{notice}"] = forms.CharField(
                label=_("Template for: %(notice)s") % {"notice": Purpose(notice).label},
                max_length=64,
                required=False,
            )
        if account is None:
            self.fields["secret"].required = True
            blank = _("Leave blank to have one made; it is shown once after saving.")
            self.fields["token"].help_text = blank
            self.fields["encoding_aes_key"].help_text = blank
            return
        for name in ("secret", "token", "encoding_aes_key"):
            self.fields[name].help_text = _("Now %(masked)s. Leave blank to keep it.") % {
                "masked": masked(getattr(account, name))
            }

    def fields_for_action(self) -> AccountFields:
        data = self.cleaned_data
        return AccountFields(
            name=data["name"],
            appid=data["appid"],
            secret=data["secret"],
            token=data["token"],
            encoding_aes_key=data["encoding_aes_key"],
            require_encryption=data["require_encryption"],
            templates={notice: data[f"template_{notice}"] for notice in NOTICES},
        )


def _initial(account: OfficialAccount | None) -> dict[str, Any]:
    if account is None:
        return {"require_encryption": True}
    return {
        "name": account.name,
        "appid": account.appid,
        "require_encryption": account.require_encryption,
        **{f"template_{notice}": account.template_id(notice) for notice in NOTICES},
    }


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@console_view(MANAGE_WECHAT)
def account_page(request: HttpRequest) -> HttpResponse:
    account = account_of_building()
    form = AccountForm(request.POST or None, account=account, initial=_initial(account))
    generated: dict[str, str] = {}
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_official_account(
                Actor.from_request(request), form.fields_for_action(), account
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if not saved.generated:
                messages.success(request, _("The WeChat account is saved."))
                return redirect("wechat:account")
            # Made up for this account: shown in this answer only, for pasting into WeChat.
            account, generated = saved.account, saved.generated
            form = AccountForm(account=account, initial=_initial(account))
    context: dict[str, Any] = {
        "section": "wechat",
        "account": account,
        "form": form,
        "generated": generated,
    }
    if account is not None:
        context.update(
            callback_url=callback_url(account),
            masked_secret=masked(account.secret),
            masked_token=masked(account.token),
            masked_aes_key=masked(account.encoding_aes_key),
            templates=[(Purpose(notice).label, account.template_id(notice)) for notice in NOTICES],
            also_serves=list(
                account.buildings.exclude(schema_name=current_schema())
                .order_by("name")
                .values_list("name", flat=True)
            ),
        )
    return _no_store(render(request, "wechat/account.html", context))


def _account_or_back(request: HttpRequest) -> OfficialAccount | None:
    account = account_of_building()
    if account is None:
        messages.error(request, _("This building has no WeChat account yet."))
    return account


@require_POST
@console_view(MANAGE_WECHAT)
def account_check(request: HttpRequest) -> HttpResponse:
    """Fetch an access token with the saved credentials and say how it went."""
    account = _account_or_back(request)
    if account is not None:
        answer = check_account(account)
        if answer.ok:
            messages.success(request, _("WeChat accepted the AppID and AppSecret."))
        else:
            messages.error(request, answer.explained())
    return redirect("wechat:account")


@require_POST
@console_view(MANAGE_WECHAT)
def account_push_menu(request: HttpRequest) -> HttpResponse:
    account = _account_or_back(request)
    if account is not None:
        answer = push_menu(Actor.from_request(request), account)
        if answer.ok:
            messages.success(request, _("The menu is now in WeChat (users see it within minutes)."))
        else:
            messages.error(request, answer.explained())
    return redirect("wechat:account")


def _code_response(
    request: HttpRequest, scene: Scene, filename: str, back: str, **back_kwargs: Any
) -> HttpResponse:
    """The scene's QR code as a PNG to download, or back to ``back`` with WeChat's answer."""
    account = _account_or_back(request)
    if account is None:
        return redirect(back, **back_kwargs)
    try:
        image = scene_code_png(account, scene)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back, **back_kwargs)
    response = HttpResponse(image, content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@console_view(MANAGE_WECHAT)
def apply_code(request: HttpRequest) -> HttpResponse:
    """The building's poster code: scanning it opens the request form."""
    schema = current_schema()
    return _code_response(
        request, Scene(schema, APPLY), f"wechat-{schema}-apply.png", "wechat:account"
    )


@console_view(CHANGE_HOST)
def host_code(request: HttpRequest, pk: int) -> HttpResponse:
    """A host's personal code: property admins for anyone, company admins for their own."""
    host = visible_hosts(request.user).filter(pk=pk, is_active=True).first()
    if host is None or not request.user.has_perm(CHANGE_HOST, host):
        raise Http404
    schema = current_schema()
    return _code_response(
        request,
        Scene(schema, HOST, host_invite_token(host)),
        f"wechat-{schema}-host-{host.pk}.png",
        "directory:host_list",
    )


@console_view(ORGANISE_EVENTS)
def event_code(request: HttpRequest, pk: int) -> HttpResponse:
    """An event's entrance code, for its organisers."""
    event = visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404
    schema = current_schema()
    return _code_response(
        request,
        Scene(schema, EVENT, event_invite_token(event)),
        f"wechat-{schema}-event-{event.pk}.png",
        "visits:event_detail",
        pk=event.pk,
    )

"""The platform operator's admin (public site): WeChat Official Accounts and the buildings
each one serves.

Secrets are write-only here: the form shows them masked and keeps the stored value when a
field is left blank, so an operator who opens the page sees no secret and changes none by
saving."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name

from tenants.models import Building, FaceRecordCensus, FaceRecordCount, OfficialAccount
from tenants.official_accounts import (
    AES_KEY_PATTERN,
    APPID_PATTERN,
    SECRET_PATTERN,
    TEMPLATE_PATTERN,
    TOKEN_PATTERN,
    masked,
    new_encoding_aes_key,
    new_token,
)

SECRET_FIELDS = {
    "secret": (SECRET_PATTERN, _("An AppSecret is 16 to 64 letters and digits.")),
    "token": (TOKEN_PATTERN, _("A token is 3 to 32 letters and digits.")),
    "encoding_aes_key": (AES_KEY_PATTERN, _("An EncodingAESKey is exactly 43 letters and digits.")),
}


class OfficialAccountForm(forms.ModelForm):
    """Secrets as blank password fields (masked value in the help text), and the buildings
    served as a choice of buildings (each building has at most one account)."""

    secret = forms.CharField(
        label=_("AppSecret"),
        required=False,
        max_length=64,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    token = forms.CharField(label=_("token"), required=False, max_length=32)
    encoding_aes_key = forms.CharField(label=_("EncodingAESKey"), required=False, max_length=43)
    buildings = forms.ModelMultipleChoiceField(
        label=_("buildings served"),
        queryset=Building.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A building has one account: choosing it here moves it from another."),
    )

    class Meta:
        model = OfficialAccount
        fields = ["name", "appid", "require_encryption", "templates"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["buildings"].queryset = Building.objects.exclude(  # type: ignore[attr-defined]
            schema_name=get_public_schema_name()
        ).order_by("name")
        stored = self.instance if self.instance.pk else None
        if stored is not None:
            self.fields["buildings"].initial = list(stored.buildings.all())
        # The admin lists these fields, so Django would fill them from the row and write the
        # blank input back: the stored values are kept aside and never rendered.
        self.stored_secrets = {
            name: getattr(stored, name) if stored is not None else "" for name in SECRET_FIELDS
        }
        for name in SECRET_FIELDS:
            self.initial[name] = ""
            if stored is not None:
                self.fields[name].help_text = _("Now %(masked)s. Leave blank to keep it.") % {
                    "masked": masked(getattr(stored, name))
                }
            elif name == "secret":
                self.fields[name].required = True
            else:
                self.fields[name].help_text = _("Leave blank to have one made.")

    def clean_appid(self) -> str:
        appid = str(self.cleaned_data["appid"]).strip()
        if not APPID_PATTERN.fullmatch(appid):
            raise forms.ValidationError(_("An AppID is wx followed by 16 letters a-f or digits."))
        return appid

    def clean_templates(self) -> dict[str, str]:
        templates = self.cleaned_data.get("templates") or {}
        if not isinstance(templates, dict) or not all(
            isinstance(key, str) and isinstance(value, str) and TEMPLATE_PATTERN.fullmatch(value)
            for key, value in templates.items()
        ):
            raise forms.ValidationError(
                _('Template ids by notice, e.g. {"pass_link": "template id"} (64 characters).')
            )
        return templates

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, (pattern, message) in SECRET_FIELDS.items():
            value = str(cleaned.get(name) or "").strip()
            cleaned[name] = value
            if value and not pattern.fullmatch(value):
                self.add_error(name, message)
        return cleaned

    def save(self, commit: bool = True) -> OfficialAccount:
        account: OfficialAccount = super().save(commit=False)
        made = {"token": new_token, "encoding_aes_key": new_encoding_aes_key}
        for name in SECRET_FIELDS:
            value = self.cleaned_data.get(name) or self.stored_secrets[name]
            if not value and name in made:
                value = made[name]()
            setattr(account, name, value)
        if commit:
            account.save()
            self.save_buildings(account)
        return account

    @transaction.atomic
    def save_buildings(self, account: OfficialAccount) -> None:
        chosen = {building.pk for building in self.cleaned_data.get("buildings") or []}
        # Saved one by one (a handful), so the callback's cached view of the account's
        # buildings (``served_account``) is dropped at once in this process.
        for building in Building.objects.filter(wechat_account=account).exclude(pk__in=chosen):
            building.wechat_account = None
            building.save(update_fields=["wechat_account"])
        for building in Building.objects.filter(pk__in=chosen).exclude(wechat_account=account):
            building.wechat_account = account
            building.save(update_fields=["wechat_account"])


@admin.register(OfficialAccount)
class OfficialAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = OfficialAccountForm
    list_display = ["name", "appid", "served", "require_encryption", "updated_at"]
    search_fields = ["name", "appid"]
    fieldsets = [
        (None, {"fields": ["name", "appid", "buildings"]}),
        (
            _("WeChat's server configuration (write-only)"),
            {"fields": ["secret", "token", "encoding_aes_key", "require_encryption"]},
        ),
        (_("Template messages"), {"fields": ["templates"]}),
    ]

    @admin.display(description=_("buildings served"))
    def served(self, account: OfficialAccount) -> str:
        return ", ".join(account.buildings.order_by("name").values_list("name", flat=True))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.save_buildings(form.instance)


class FaceRecordCountInline(admin.TabularInline):  # type: ignore[type-arg]
    model = FaceRecordCount
    fields = readonly_fields = (
        "schema_name",
        "building",
        "people",
        "photos",
        "form_photos",
        "face_matches",
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FaceRecordCensus)
class FaceRecordCensusAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The daily face-record censuses (ADR 0036), read-only: numbers the platform counted."""

    list_display = ["counted_at", "total", "threshold", "over", "alerted_at"]
    fields = readonly_fields = ("counted_at", "total", "threshold", "alerted_at")
    inlines = [FaceRecordCountInline]

    @admin.display(description=_("at or over the threshold"), boolean=True)
    def over(self, census: FaceRecordCensus) -> bool:
        return census.over_threshold

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what was held when; kept like an audit row

"""Console forms for the directory. They shape input; the actions validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kernel.errors import DomainError
from visit_platform.directory.choices import COMPANY_ROLES, Role
from visit_platform.directory.models import Company


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show an action's refusal on the field it names, or on the whole form."""
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, error.message)


class CompanyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    floors = forms.CharField(
        label=_("Floors"), max_length=100, required=False, help_text=_("For example 12-15 or 3, 5")
    )
    zone = forms.CharField(label=_("Zone"), max_length=100, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_mobile = forms.CharField(label=_("Contact mobile"), max_length=32, required=False)


class HostForm(forms.Form):
    company = forms.ModelChoiceField(label=_("Company"), queryset=Company.objects.none())
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=100)
    mobile = forms.CharField(
        label=_("Mobile"),
        max_length=32,
        help_text=_("Visitors find their host by this number."),
    )
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    department = forms.CharField(label=_("Department"), max_length=100, required=False)

    def __init__(self, *args: Any, companies: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies  # type: ignore[attr-defined]
        if companies.count() == 1:
            self.fields["company"].initial = companies.first()


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet"), help_text=_("An .xlsx or .csv file with a header row, up to 2 MB.")
    )

    def __init__(self, *args: Any, companies: Any = None, **kwargs: Any) -> None:
        """``companies``: the admin of several companies chooses which one the file is for."""
        super().__init__(*args, **kwargs)
        if companies is not None:
            self.fields["company"] = forms.ModelChoiceField(
                label=_("Company"),
                queryset=companies,
                help_text=_("Everyone in the file joins this company."),
            )


class GrantForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"))
    company = forms.ModelChoiceField(
        label=_("Company"),
        queryset=Company.objects.none(),
        required=False,
        help_text=_("Needed for company admins and hosts."),
    )

    def __init__(self, *args: Any, companies: Any, building_wide: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = [(r.value, r.label) for r in Role if r != Role.OPERATOR]
        if not building_wide:
            roles = [(value, label) for value, label in roles if value in COMPANY_ROLES]
        self.fields["role"].choices = roles  # type: ignore[attr-defined]
        self.fields["company"].queryset = companies  # type: ignore[attr-defined]

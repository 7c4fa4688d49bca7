"""The field types of registration forms: one class per type, each knowing its JSON Schema
fragment, its Django form field, its privacy class, how it reads a posted HTML form, the rules
JSON Schema cannot say (checksums, phone numbering plans), and how it is shown and masked.

Modelled on NetBox's custom fields, which turn rows into form fields and validate values; here
the rows are the ``fields`` list of a ``FormVersion``, and the one validation path that uses
these classes is ``forms.validation``.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from django import forms as django_forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forms.choices import FieldType, PrivacyClass
from kernel.errors import DomainError
from kernel.phones import display_mobile, normalise_mobile
from kernel.privacy import mask_id_number, mask_mobile, mask_name
from visit_platform.visits.choices import DocumentType
from visit_platform.visits.identity import clean_identity

LANGUAGES = ("zh-hans", "en")
# Markup in an answer is refused outright: answers are shown on staff screens and printed,
# and no front-desk question needs angle-bracket tags.
MARKUP_PATTERN = r"<\s*[/!?a-zA-Z]"
MAX_UPLOAD_KB = 5 * 1024
DEFAULT_UPLOAD_KB = 3 * 1024
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PDF_TYPE = "application/pdf"
UNKNOWN_TYPE = "application/octet-stream"
# Mainland plates: province character, letter, then 5 (petrol) or 6 (new energy) characters
# without I and O; the last may be 挂, 学, 警, 港 or 澳.
PLATE_PATTERN = (
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
    r"[A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]$"
)
MOBILE_PATTERN = r"^\+?[0-9][0-9 \-]{4,30}$"


class Missing:
    """No answer was given (different from an empty or false answer)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


class FieldProblem(Exception):
    """An answer breaks a rule of its type; ``message`` is translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def localized(texts: Any, language: str) -> str:
    """The text in ``language``, else in the other language, else empty."""
    if not isinstance(texts, Mapping):
        return ""
    for code in (language, *LANGUAGES):
        value = texts.get(code)
        if isinstance(value, str) and value:
            return value
    return ""


def _text_value(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key, "")
    if not isinstance(value, str):
        return value
    value = value.strip()
    return value if value else MISSING


class FieldKind:
    """One field type. Subclasses set ``type`` and override what differs."""

    type: ClassVar[str]
    default_privacy: ClassVar[str] = PrivacyClass.NONE
    minimum_privacy: ClassVar[str] = PrivacyClass.NONE
    is_upload: ClassVar[bool] = False
    # Types whose answer can steer another field's visibility.
    can_control_visibility: ClassVar[bool] = False

    # --- JSON Schema --------------------------------------------------------------------

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # --- Reading posted HTML forms ------------------------------------------------------

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        """The JSON value of this field in a posted form (``data`` is a QueryDict), lenient:
        what cannot be converted is passed on as text for the schema to refuse."""
        return _text_value(data, spec["key"])

    def prepare(self, spec: Mapping[str, Any], value: Any) -> Any:
        """Undo harmless differences of writing before the schema sees the value."""
        return value

    # --- Rules JSON Schema cannot express -----------------------------------------------

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        """Normalise a value that passed the schema, or raise ``FieldProblem``."""
        return value

    # --- Django form field --------------------------------------------------------------

    def form_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        field = self._django_field(spec, language)
        field.label = localized(spec.get("label"), language) or spec["key"]
        field.help_text = localized(spec.get("help"), language)
        field.required = bool(spec.get("required"))
        placeholder = localized(spec.get("placeholder"), language)
        if placeholder:
            field.widget.attrs["placeholder"] = placeholder
        return field

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.CharField(max_length=spec.get("max_length"))

    # --- Showing answers ----------------------------------------------------------------

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "" if value is None else str(value)

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        text = self.display(spec, value, language)
        return mask_name(text) if text else ""


class TextKind(FieldKind):
    type = FieldType.TEXT
    default_max_length = 200
    longest = 1000

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        fragment: dict[str, Any] = {
            "type": "string",
            "maxLength": spec.get("max_length") or self.default_max_length,
            "not": {"type": "string", "pattern": MARKUP_PATTERN},
        }
        if spec.get("required"):
            fragment["minLength"] = 1
        if spec.get("pattern"):
            fragment["pattern"] = spec["pattern"]
        return fragment


class LongTextKind(TextKind):
    type = FieldType.LONG_TEXT
    default_max_length = 2000
    longest = 5000

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.CharField(
            max_length=spec.get("max_length"), widget=django_forms.Textarea(attrs={"rows": 3})
        )


class NumberKind(FieldKind):
    type = FieldType.NUMBER

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        fragment: dict[str, Any] = {"type": "number"}
        if spec.get("minimum") is not None:
            fragment["minimum"] = spec["minimum"]
        if spec.get("maximum") is not None:
            fragment["maximum"] = spec["maximum"]
        return fragment

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        value = _text_value(data, spec["key"])
        if not isinstance(value, str):
            return value
        for convert in (int, float):
            try:
                number = convert(value)
            except ValueError:
                continue
            if number == number and number not in (float("inf"), float("-inf")):
                return number
        return value

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.FloatField(min_value=spec.get("minimum"), max_value=spec.get("maximum"))

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "***"


class DateKind(FieldKind):
    type = FieldType.DATE

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "format": "date", "maxLength": 10}

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.DateField(widget=django_forms.DateInput(attrs={"type": "date"}))

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "****-**-**"


class DateTimeKind(FieldKind):
    """Answers are ISO 8601 with an offset; a posted ``datetime-local`` value (which has none)
    is read in the building's time zone, which the views make current."""

    type = FieldType.DATETIME

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "maxLength": 40}

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        value = _text_value(data, spec["key"])
        if not isinstance(value, str):
            return value
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return value
        if parsed is None:
            return value
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.isoformat()

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        return parse_iso_datetime(value).isoformat()

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.DateTimeField(
            widget=django_forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            )
        )

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        try:
            moment = parse_iso_datetime(value)
        except FieldProblem:
            return str(value)
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return self.display(spec, value, language)


def parse_iso_datetime(value: Any) -> datetime.datetime:
    """An aware datetime from ISO 8601 text, or ``FieldProblem``."""
    try:
        moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FieldProblem(_("Enter a valid date and time."))
    return moment


def _choice_values(spec: Mapping[str, Any]) -> list[str]:
    return [choice["value"] for choice in spec.get("choices") or []]


def _choice_label(spec: Mapping[str, Any], value: Any, language: str) -> str:
    for choice in spec.get("choices") or []:
        if choice["value"] == value:
            return localized(choice.get("label"), language) or str(value)
    return str(value)


class ChoiceKind(FieldKind):
    type = FieldType.CHOICE
    can_control_visibility = True

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "enum": _choice_values(spec)}

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        choices = [
            (choice["value"], localized(choice.get("label"), language) or choice["value"])
            for choice in spec.get("choices") or []
        ]
        return django_forms.ChoiceField(choices=[("", "—"), *choices], widget=django_forms.Select())

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return _choice_label(spec, value, language)

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "***"


class MultipleChoiceKind(FieldKind):
    type = FieldType.MULTIPLE_CHOICE

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        values = _choice_values(spec)
        fragment: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string", "enum": values},
            "uniqueItems": True,
            "maxItems": len(values),
        }
        if spec.get("required"):
            fragment["minItems"] = 1
        return fragment

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        values = [value for value in data.getlist(spec["key"]) if value]
        return values or MISSING

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        choices = [
            (choice["value"], localized(choice.get("label"), language) or choice["value"])
            for choice in spec.get("choices") or []
        ]
        return django_forms.MultipleChoiceField(
            choices=choices, widget=django_forms.CheckboxSelectMultiple()
        )

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "、".join(_choice_label(spec, item, language) for item in value or [])

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "***"


class MobileKind(FieldKind):
    type = FieldType.MOBILE
    default_privacy = PrivacyClass.PERSONAL
    minimum_privacy = PrivacyClass.PERSONAL

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "maxLength": 32, "pattern": MOBILE_PATTERN}

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        try:
            return normalise_mobile(value)
        except DomainError as error:
            raise FieldProblem(error.message) from None

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.CharField(
            max_length=32,
            widget=django_forms.TextInput(
                attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}
            ),
        )

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return display_mobile(str(value))

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return mask_mobile(self.display(spec, value, language))


class EmailKind(FieldKind):
    type = FieldType.EMAIL
    default_privacy = PrivacyClass.PERSONAL

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": 254}

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        try:
            validate_email(value)
        except ValidationError:
            raise FieldProblem(_("Enter a valid e-mail address.")) from None
        return value.lower()

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.EmailField(max_length=254)

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        local, _at, domain = str(value).partition("@")
        return f"{local[:1]}***@{domain}"


class IdDocumentWidget(django_forms.MultiWidget):
    def __init__(self, type_choices: list[tuple[str, str]]) -> None:
        super().__init__(
            [
                django_forms.Select(choices=type_choices),
                django_forms.TextInput(attrs={"autocomplete": "off", "maxlength": 40}),
            ]
        )

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, Mapping):
            return [value.get("type"), value.get("number")]
        return [None, None]


class IdDocumentField(django_forms.MultiValueField):
    def __init__(self, type_choices: list[tuple[str, str]]) -> None:
        super().__init__(
            fields=[django_forms.ChoiceField(choices=type_choices), django_forms.CharField()],
            widget=IdDocumentWidget(type_choices),
            require_all_fields=False,
        )

    def compress(self, data_list: list[Any]) -> Any:
        return data_list


class IdDocumentKind(FieldKind):
    """Document type and number; a resident ID must pass the GB 11643 check character."""

    type = FieldType.ID_DOCUMENT
    default_privacy = PrivacyClass.SENSITIVE
    minimum_privacy = PrivacyClass.SENSITIVE

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(DocumentType.values)},
                "number": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 40,
                    "pattern": r"^[0-9A-Za-z \-()]+$",
                },
            },
            "required": ["type", "number"],
            "additionalProperties": False,
        }

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        key = spec["key"]
        document_type = (data.get(f"{key}_0") or "").strip()
        number = (data.get(f"{key}_1") or "").strip()
        if not document_type and not number:
            return MISSING
        value = {}
        if document_type:
            value["type"] = document_type
        if number:
            value["number"] = number
        return value

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        try:
            document_type, number, _birth_date = clean_identity(value["type"], value["number"])
        except DomainError as error:
            raise FieldProblem(error.message) from None
        return {"type": document_type, "number": number}

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        choices = [(value, str(label)) for value, label in DocumentType.choices]
        return IdDocumentField([("", "—"), *choices])

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        if not isinstance(value, Mapping):
            return ""
        return f"{DocumentType(value['type']).label} {value['number']}"

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        if not isinstance(value, Mapping):
            return ""
        return f"{DocumentType(value['type']).label} {mask_id_number(value['number'])}"


class PlateKind(FieldKind):
    type = FieldType.PLATE
    default_privacy = PrivacyClass.PERSONAL

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "string", "maxLength": 8, "pattern": PLATE_PATTERN}

    def prepare(self, spec: Mapping[str, Any], value: Any) -> Any:
        return normalise_plate(value) if isinstance(value, str) else value

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.CharField(
            max_length=10, widget=django_forms.TextInput(attrs={"autocapitalize": "characters"})
        )

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        text = str(value)
        return text[:2] + "*" * max(len(text) - 3, 0) + text[-1:]


def normalise_plate(text: str) -> str:
    """'沪a·12345' and '沪A 12345' are the same plate: no spaces or dots, capitals."""
    return re.sub(r"[\s·.\-]", "", text).upper()


def sniff_content_type(upload: UploadedFile) -> str:
    """What the file's bytes say it is, whatever its name or the browser claims."""
    from PIL import Image, UnidentifiedImageError

    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF_TYPE
    try:
        data = upload.read()
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            image_format = image.format or ""
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return UNKNOWN_TYPE
    finally:
        upload.seek(0)
    return IMAGE_TYPES.get(image_format, UNKNOWN_TYPE)


class UploadKind(FieldKind):
    """An uploaded file. Its answer in the schema is a description the server makes from the
    bytes (sniffed type, size); the bytes are stored by ``forms.actions.submit``."""

    type = FieldType.FILE
    is_upload = True
    accepted: ClassVar[tuple[str, ...]] = (PDF_TYPE, *IMAGE_TYPES.values())

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 255},
                "size": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": (spec.get("max_size_kb") or DEFAULT_UPLOAD_KB) * 1024,
                },
                "content_type": {"type": "string", "enum": list(self.accepted)},
            },
            "required": ["name", "size", "content_type"],
        }

    def describe(self, upload: UploadedFile) -> dict[str, Any]:
        return {
            "name": (upload.name or "upload")[-255:],
            "size": upload.size or 0,
            "content_type": sniff_content_type(upload),
        }

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.FileField(
            widget=django_forms.ClearableFileInput(attrs={"accept": ",".join(self.accepted)})
        )

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        if not isinstance(value, Mapping):
            return ""
        return _("%(name)s (%(size)d KB)") % {
            "name": value.get("name", ""),
            "size": max(1, int(value.get("size", 0)) // 1024),
        }

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return _("File attached") if value else ""


class PhotoKind(UploadKind):
    type = FieldType.PHOTO
    default_privacy = PrivacyClass.SENSITIVE
    accepted = tuple(IMAGE_TYPES.values())

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        attrs = {"accept": "image/*"}
        if spec.get("capture") == "camera":
            attrs["capture"] = "user"
        return django_forms.FileField(widget=django_forms.ClearableFileInput(attrs=attrs))

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return _("Photo attached") if value else ""


class YesNoKind(FieldKind):
    """A checkbox: unticked is an answer too (no)."""

    type = FieldType.YES_NO
    can_control_visibility = True

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"type": "boolean"}

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        return data.get(spec["key"]) in ("on", "true", "1", "yes")

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.BooleanField()

    def form_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        field = super().form_field(spec, language)
        field.required = False
        return field

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return str(gettext_lazy("Yes") if value else gettext_lazy("No"))

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return self.display(spec, value, language)


class ConsentKind(FieldKind):
    """Agreement to a text kept in the form version; the answer records which text version
    was agreed to (``consent_version`` changes when the text does)."""

    type = FieldType.CONSENT

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        if spec.get("required"):
            return {"const": True}
        return {"type": "boolean"}

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        return True if data.get(spec["key"]) in ("on", "true", "1", "yes") else MISSING

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        return django_forms.BooleanField()

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        if isinstance(value, Mapping) and value.get("agreed"):
            return _("Agreed (text version %(version)s)") % {
                "version": value.get("consent_version", 1)
            }
        return _("Not agreed")

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return self.display(spec, value, language)


class CompanionsWidget(django_forms.MultiWidget):
    template_name = "forms/widgets/companions.html"

    def __init__(self, rows: int, name_label: str, mobile_label: str) -> None:
        widgets = []
        for _row in range(rows):
            widgets.append(django_forms.TextInput(attrs={"placeholder": name_label}))
            widgets.append(
                django_forms.TextInput(
                    attrs={"placeholder": mobile_label, "type": "tel", "inputmode": "tel"}
                )
            )
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[Any]:
        return [None] * len(self.widgets)


class CompanionsKind(FieldKind):
    """People coming along: a name and a mobile number each."""

    type = FieldType.COMPANIONS
    default_privacy = PrivacyClass.PERSONAL
    minimum_privacy = PrivacyClass.PERSONAL
    default_rows = 5

    def schema(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        fragment: dict[str, Any] = {
            "type": "array",
            "maxItems": spec.get("max_items") or self.default_rows,
            "items": {
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 100,
                        "not": {"type": "string", "pattern": MARKUP_PATTERN},
                    },
                    "mobile": {"type": "string", "maxLength": 32, "pattern": MOBILE_PATTERN},
                },
                "required": ["name", "mobile"],
                "additionalProperties": False,
            },
        }
        if spec.get("required"):
            fragment["minItems"] = 1
        return fragment

    def from_post(self, spec: Mapping[str, Any], data: Any) -> Any:
        key = spec["key"]
        rows = []
        for row in range(spec.get("max_items") or self.default_rows):
            name = (data.get(f"{key}_{row * 2}") or "").strip()
            mobile = (data.get(f"{key}_{row * 2 + 1}") or "").strip()
            if name or mobile:
                rows.append({"name": name, "mobile": mobile})
        return rows or MISSING

    def clean(self, spec: Mapping[str, Any], value: Any) -> Any:
        cleaned = []
        for companion in value:
            try:
                mobile = normalise_mobile(companion["mobile"])
            except DomainError as error:
                raise FieldProblem(
                    _("%(name)s: %(problem)s") % {"name": companion["name"], "problem": error}
                ) from None
            cleaned.append({"name": companion["name"], "mobile": mobile})
        return cleaned

    def _django_field(self, spec: Mapping[str, Any], language: str) -> django_forms.Field:
        rows = spec.get("max_items") or self.default_rows
        return django_forms.CharField(
            widget=CompanionsWidget(rows, _("Companion's name"), _("Their mobile number"))
        )

    def display(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "; ".join(
            f"{person['name']} {display_mobile(person['mobile'])}" for person in value or []
        )

    def mask(self, spec: Mapping[str, Any], value: Any, language: str) -> str:
        return "; ".join(
            f"{mask_name(person['name'])} {mask_mobile(display_mobile(person['mobile']))}"
            for person in value or []
        )


KINDS: dict[str, FieldKind] = {
    kind.type: kind
    for kind in (
        TextKind(),
        LongTextKind(),
        NumberKind(),
        DateKind(),
        DateTimeKind(),
        ChoiceKind(),
        MultipleChoiceKind(),
        MobileKind(),
        EmailKind(),
        IdDocumentKind(),
        PlateKind(),
        PhotoKind(),
        UploadKind(),
        YesNoKind(),
        ConsentKind(),
        CompanionsKind(),
    )
}
assert set(KINDS) == set(FieldType.values), "every field type needs a class"


def kind_of(spec: Mapping[str, Any]) -> FieldKind:
    return KINDS[spec["type"]]

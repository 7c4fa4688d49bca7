"""The forms every new building starts with, one per scenario: the locked fields, plus what a
front desk usually asks. Property admins change them in the designer."""

from __future__ import annotations

from typing import Any

from forms.choices import (
    HOST_MOBILE,
    PURPOSE,
    VISIT_END,
    VISIT_START,
    VISITOR_MOBILE,
    VISITOR_NAME,
    FieldType,
)
from visit_platform.visits.choices import Scenario


def _texts(chinese: str, english: str) -> dict[str, str]:
    return {"zh-hans": chinese, "en": english}


def _field(key: str, field_type: str, chinese: str, english: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": field_type, "label": _texts(chinese, english), **extra}


NAME = _field(VISITOR_NAME, FieldType.TEXT, "访客姓名", "Visitor's name", max_length=100)
MOBILE = _field(
    VISITOR_MOBILE,
    FieldType.MOBILE,
    "访客手机号",
    "Visitor's mobile number",
    placeholder=_texts("例如 138 0013 8000", "e.g. 138 0013 8000"),
)
START = _field(VISIT_START, FieldType.DATETIME, "来访时间", "Arrival")
END = _field(VISIT_END, FieldType.DATETIME, "离开时间", "Departure")
HOST = _field(
    HOST_MOBILE,
    FieldType.MOBILE,
    "被访人手机号",
    "Host's mobile number",
    help=_texts("请填写您要拜访的员工的手机号", "The mobile number of the employee you visit"),
)
OPTIONAL_HOST = {**HOST, "required": False}
PURPOSE_FIELD = _field(
    PURPOSE,
    FieldType.CHOICE,
    "来访事由",
    "Purpose",
    required=True,
    choices=[
        {"value": "business", "label": _texts("商务洽谈", "Business meeting")},
        {"value": "interview", "label": _texts("面试", "Interview")},
        {"value": "delivery", "label": _texts("送货", "Delivery")},
        {"value": "other", "label": _texts("其他", "Other")},
    ],
)
BY_CAR = _field("by_car", FieldType.YES_NO, "驾车前来", "Arriving by car")
PLATE = _field(
    "plate_number",
    FieldType.PLATE,
    "车牌号",
    "Licence plate",
    required=True,
    visible_if={"field": "by_car", "equals": True},
)
COMPANIONS = _field("companions", FieldType.COMPANIONS, "随行人员", "Companions", max_items=5)
ID_DOCUMENT = _field(
    "id_document",
    FieldType.ID_DOCUMENT,
    "证件",
    "Identity document",
    required=True,
    help=_texts("仅用于门禁核验", "Used only to check you in at the gate"),
)
PHOTO = _field(
    "face_photo",
    FieldType.PHOTO,
    "现场照片",
    "Photo",
    capture="camera",
    help=_texts("拍摄正面照片，用于核对身份", "A photo of your face, to check who you are"),
)
CONSENT = _field(
    "privacy_consent",
    FieldType.CONSENT,
    "个人信息授权",
    "Consent to personal data use",
    required=True,
    consent_text=_texts(
        "我同意大厦为访客登记和门禁核验收集并使用上述个人信息（含证件号码等敏感个人信息），"
        "信息将按大厦的保存期限删除。",
        "I agree that the building collects and uses the information above, including "
        "sensitive data such as my document number, for visitor registration and gate "
        "checks; it is deleted when the building's retention period ends.",
    ),
)

DEFAULT_FIELDS: dict[str, list[dict[str, Any]]] = {
    Scenario.REQUEST: [NAME, MOBILE, HOST, START, END, PURPOSE_FIELD, BY_CAR, PLATE, COMPANIONS],
    Scenario.INVITE: [NAME, MOBILE, START, END, PURPOSE_FIELD, BY_CAR, PLATE],
    Scenario.WALK_IN: [
        NAME,
        MOBILE,
        ID_DOCUMENT,
        OPTIONAL_HOST,
        START,
        END,
        PURPOSE_FIELD,
        CONSENT,
    ],
    Scenario.NO_ID: [NAME, MOBILE, OPTIONAL_HOST, START, END, PURPOSE_FIELD, PHOTO, CONSENT],
    Scenario.BULK: [NAME, MOBILE, START, END],
}

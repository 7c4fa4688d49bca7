"""Channels, purposes and delivery states of notifications."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")


class Purpose(models.TextChoices):
    """Why a message was sent: the log and reports group by it."""

    PASS_LINK = "pass_link", _("Pass link to a visitor")
    APPROVAL_REQUEST = "approval_request", _("Approval request to a host")
    DECISION = "decision", _("Decision told to a visitor")
    ONE_TIME_CODE = "one_time_code", _("One-time code")
    REMINDER = "reminder", _("Reminder")
    ESCALATION = "escalation", _("Escalation")
    ARRIVAL = "arrival", _("Arrival told to a host")
    OVERSTAY = "overstay", _("Overstay told to a host")
    OVERSTAY_VISITOR = "overstay_visitor", _("Overstay told to a visitor")
    TEXT_CEILING = "text_ceiling", _("Daily text ceiling reached")
    PRIVACY_ANSWER = "privacy_answer", _("Answer to a privacy request")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")

"""Invitations: the one-time link with which a new member chooses their password.

The link goes by e-mail to the person and is never shown to the admin who granted the role:
accounts are shared by all buildings, so whoever holds the link could set a password and
then act as that person in every other building where they hold a role.
"""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from tenants.actions import building_url
from tenants.db import current_schema
from tenants.models import Building, User


def set_password_url(user: User, schema_name: str) -> str:
    """The absolute one-time link on the building's domain (valid until the password is set
    or ``PASSWORD_RESET_TIMEOUT`` passes)."""
    path = reverse(
        "web:set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return building_url(schema_name, path)


def schedule_invitation(user: User) -> None:
    """E-mail the person their link, in the building's language, once the current
    transaction has committed (a rolled-back grant sends nothing)."""
    schema = current_schema()
    building = Building.objects.get(schema_name=schema)
    building_name, language = building.name, building.default_language
    email = user.email
    user_id = user.pk

    def send() -> None:
        invited = User.objects.get(pk=user_id)
        if invited.has_usable_password():
            return
        with translation.override(language):
            subject = _("You have been invited to %(building)s") % {"building": building_name}
            body = _(
                "You now have a role in %(building)s on the visitor platform.\n\n"
                "Choose your password with this one-time link:\n%(link)s\n\n"
                "If you did not expect this, ignore this message."
            ) % {"building": building_name, "link": set_password_url(invited, schema)}
        send_mail(subject, body, None, [email])

    transaction.on_commit(send)

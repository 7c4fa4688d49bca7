"""Human names for audit verbs and system actors. The codes stay stable in the database;
people read these."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

VERB_LABELS: dict[str, Promise] = {
    "building.provisioned": _("Building provisioned"),
    "company.created": _("Company created"),
    "company.updated": _("Company changed"),
    "company.activated": _("Company reactivated"),
    "company.deactivated": _("Company deactivated"),
    "host.created": _("Employee added"),
    "host.updated": _("Employee changed"),
    "host.activated": _("Employee reactivated"),
    "host.deactivated": _("Employee deactivated"),
    "host.wechat_bound": _("Employee's WeChat bound"),
    "host.wechat_unbound": _("Employee's WeChat unbound"),
    "membership.granted": _("Role granted"),
    "membership.revoked": _("Role removed"),
    "membership.invitation_sent": _("Invitation sent"),
    "directory.companies_imported": _("Companies imported"),
    "directory.hosts_imported": _("Employees imported"),
    "visits.viewed": _("Visits viewed"),
    "occupancy.viewed": _("Security screen viewed with full names"),
    "visit.viewed_in_wechat": _("Visit viewed on the WeChat approval page"),
    "visitor.registered": _("Visitor registered"),
    "visit.created": _("Visit created"),
    "visit.cancelled": _("Visit request cancelled by the visitor"),
    "visitor.signed_in": _("Visitor signed in to their visits"),
    "visitor.visits_viewed": _("Visitor viewed their visits"),
    "visitor.wechat_linked": _("Visitor linked their WeChat"),
    "visitor.wechat_unlinked": _("Visitor stopped using their WeChat"),
    "visit.visitor_reminded": _("Visitor reminded of the visit"),
    "pass.issued": _("Pass issued"),
    "pass.revoked": _("Pass revoked"),
    "pass.slip_printed": _("Visitor slip printed"),
    "event.created": _("Event created"),
    "event.list_checked": _("Attendee list checked"),
    "event.list_cancelled": _("Attendee list cancelled"),
    "event.invited": _("Event attendees invited"),
    "event.attendance_downloaded": _("Attendance sheet downloaded"),
    "event.viewed": _("Event attendees viewed"),
    "visitor.id_card_read": _("ID card read at the desk"),
    "pass.link_renewed": _("New pass link for the visitor"),
    "watchlist.added": _("Added to the watchlist"),
    "watchlist.proposed": _("Watchlist entry proposed"),
    "watchlist.approved": _("Watchlist entry approved"),
    "watchlist.rejected": _("Watchlist entry rejected"),
    "watchlist.enforced": _("Watchlist entry enforced: passes revoked, waiting visits refused"),
    "watchlist.removal_proposed": _("Watchlist removal proposed"),
    "watchlist.removed": _("Watchlist removal approved"),
    "watchlist.removal_rejected": _("Watchlist removal rejected"),
    "watchlist.viewed": _("Watchlist viewed"),
    "watchlist.revealed": _("Watchlist entry viewed unmasked"),
    "signing_key.rotated": _("Signing key rotated"),
    "gate.created": _("Gate created"),
    "alert.raised": _("Alert raised"),
    "alert.acknowledged": _("Alert acknowledged"),
    "alerts.visitors_viewed": _("Alerts viewed with visitors' full names"),
    "visit.overstay_noted": _("Overstay noted"),
    "visit.checked_out_unseen": _("Checked out at day end (not seen leaving)"),
    "gate_agent.created": _("Gate agent registered"),
    "gate_agent.back_online": _("Gate agent heard from again after an outage"),
    "controller.link_down": _("Controller unreachable (reported by its gate agent)"),
    "controller.link_up": _("Controller reachable again"),
    "notification.queued": _("Message queued"),
    "wechat_account.created": _("WeChat account set up"),
    "wechat_account.changed": _("WeChat account changed"),
    "wechat_account.menu_pushed": _("WeChat menu pushed"),
    "action_link.created": _("Decision link sent"),
    "action_link.used": _("Decision link used"),
    "action_link.withdrawn": _("Decision links withdrawn"),
    "policy.created": _("Visit policy created"),
    "policy.changed": _("Visit policy changed"),
    "form.published": _("Form published"),
    "form.restored": _("Earlier form version restored"),
    "form.override_created": _("Company form created"),
    "form.submitted": _("Form submitted"),
    "visit.answers_viewed": _("Form answers viewed"),
    "visit.answers_revealed": _("Form answers viewed unmasked"),
    "visit.answer_file_viewed": _("Uploaded photo or file viewed"),
    "visit.answers_forgotten": _("Form answers deleted after their retention period"),
    "visit.identity_differs": _("Visit made with a name or mobile other than those on file"),
    "visit.identity_confirmed": _("Reception kept the visitor's details on file"),
    "visitor.identity_updated": _("Reception updated the visitor's name or mobile"),
    "host.visitors_viewed": _("Host viewed their visitors"),
}

SYSTEM_ACTOR_LABELS: dict[str, Promise] = {
    "system": _("System"),
    "provisioning": _("Provisioning"),
    "demo": _("Demo data"),
    "tests": _("Tests"),
    "visitor": _("Visitor"),
}


def verb_label(verb: str) -> str:
    """The verb's human name, or the code itself for verbs not named yet."""
    return str(VERB_LABELS.get(verb, verb))


def actor_label(label: str) -> str:
    return str(SYSTEM_ACTOR_LABELS.get(label, label))

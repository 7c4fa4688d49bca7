"""What each role may do in a building. The permission backend reads this table."""

from __future__ import annotations

from typing import Any

from kernel.privacy import mask_name
from visit_platform.directory.choices import Role

VIEW_COMPANY = "directory.view_company"
CHANGE_COMPANY = "directory.change_company"
IMPORT_COMPANIES = "directory.import_company"
VIEW_HOST = "directory.view_host"
CHANGE_HOST = "directory.change_host"
IMPORT_HOSTS = "directory.import_host"
VIEW_MEMBERSHIP = "directory.view_membership"
CHANGE_MEMBERSHIP = "directory.change_membership"
VIEW_AUDIT = "audit.view_auditentry"
VIEW_VISIT = "access.view_visit"
PRINT_SLIP = "access.print_slip"
# Property admins design every form; company admins only their own company's overrides.
DESIGN_FORMS = "forms.design_form"
REGISTER_VISITS = "visits.register_visit"
MANAGE_GATES = "access.change_gate"
VIEW_NOTIFICATIONS = "notifications.view_notification"
# The building's WeChat Official Account: its settings, menu and QR codes (property admins).
MANAGE_WECHAT = "notifications.change_officialaccount"
MANAGE_POLICIES = "workflows.change_scenariopolicy"
# The flows' tasks: approving a visit (company admins for their company's visits; hosts
# decide their own through their inbox or link), reviewing a watchlist match, inviting.
APPROVE_VISITS = "workflows.approve_visit"
REVIEW_WATCHLIST_HITS = "workflows.review_watchlist_hit"
INVITE_VISITORS = "visits.invite_visitor"
VIEW_TASKS = "workflows.view_task"
# Events (bulk visits): property admins for any company, company admins for their own.
ORGANISE_EVENTS = "visits.organise_event"
# The watchlist: security and property admins see it and propose; property admins approve.
VIEW_WATCHLIST = "visits.view_watchlistentry"
PROPOSE_WATCHLIST = "visits.add_watchlistentry"
APPROVE_WATCHLIST = "visits.approve_watchlistentry"
# viewflow lists a flow's tasks (Task.objects.queue/inbox) only to users who may view its
# processes; each task then asks for its own permission (the watchlist review: APPROVE_WATCHLIST).
VIEW_FLOW_PROCESSES = "viewflow.view_process"
# Alerts from the gates (door forced, alarm): security and property admins see them and
# acknowledge them with a note.
VIEW_ALERTS = "access.view_alert"
ACKNOWLEDGE_ALERTS = "access.acknowledge_alert"
# The security screen (live occupancy, overstays, open alerts, gate health): security and
# property admins. Reception may watch the occupancy socket but has no screen of its own.
VIEW_SECURITY_SCREEN = "access.view_security_screen"
# The security desk's building settings (overstays, end of day, gate alerts): property admins.
MANAGE_SECURITY_SETTINGS = "access.change_security_settings"
# Evacuation roll calls: security and property admins start, run, print and close them and
# mark anyone; a host marks their own visitors only (``ROLL_CALL_OWN_VISITORS_ONLY``).
RUN_ROLL_CALLS = "access.run_rollcall"
MARK_ROLL_CALL = "access.mark_rollcallentry"
# Reception's day (今日访客): today's expected, arrived and departed visitors of the whole
# building. Reception and property admins check visitors in at the desk (REGISTER_VISITS);
# security may look. Company admins and hosts have their own lists of their own visitors.
VIEW_EXPECTED_TODAY = "visits.view_expected_today"
# Visitors' full names on console pages (``visitor_name_for``): the people who greet them at
# a desk or call them out in a roll call. Everyone else sees "赵*".
SEE_VISITOR_NAMES = "visits.view_visitor_name"
# Revoking one pass from the console, with a reason (a lost phone, a visit called off):
# security and property admins, who answer for who gets in.
REVOKE_PASSES = "access.revoke_pass"
# Records over any period (issue 17): visits and gate events with who invited, approved or
# registered each. Property admins and security for the whole building, company admins for
# their own company. Reception works today's desk and hosts their own visitors: neither needs
# the building's history (ADR 0038).
VIEW_RECORDS = "reports.view_records"
# Finding one person's visits and passages by mobile or ID number (through the blind indexes):
# security and property admins, who answer for who came in.
FIND_PEOPLE = "reports.find_people"

_PROPERTY = frozenset(
    {
        VIEW_COMPANY,
        CHANGE_COMPANY,
        IMPORT_COMPANIES,
        VIEW_HOST,
        CHANGE_HOST,
        IMPORT_HOSTS,
        VIEW_MEMBERSHIP,
        CHANGE_MEMBERSHIP,
        VIEW_AUDIT,
        VIEW_VISIT,
        PRINT_SLIP,
        DESIGN_FORMS,
        REGISTER_VISITS,
        MANAGE_GATES,
        VIEW_NOTIFICATIONS,
        MANAGE_WECHAT,
        MANAGE_POLICIES,
        APPROVE_VISITS,
        REVIEW_WATCHLIST_HITS,
        INVITE_VISITORS,
        VIEW_TASKS,
        ORGANISE_EVENTS,
        VIEW_WATCHLIST,
        PROPOSE_WATCHLIST,
        APPROVE_WATCHLIST,
        VIEW_FLOW_PROCESSES,
        VIEW_ALERTS,
        ACKNOWLEDGE_ALERTS,
        VIEW_SECURITY_SCREEN,
        MANAGE_SECURITY_SETTINGS,
        RUN_ROLL_CALLS,
        MARK_ROLL_CALL,
        VIEW_EXPECTED_TODAY,
        REVOKE_PASSES,
        VIEW_RECORDS,
        FIND_PEOPLE,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OPERATOR: _PROPERTY,
    Role.PROPERTY_ADMIN: _PROPERTY,
    # A company admin's permissions hold for their own company only (see COMPANY_ROLES).
    Role.COMPANY_ADMIN: frozenset(
        {
            VIEW_COMPANY,
            VIEW_HOST,
            CHANGE_HOST,
            IMPORT_HOSTS,
            VIEW_MEMBERSHIP,
            CHANGE_MEMBERSHIP,
            VIEW_VISIT,
            DESIGN_FORMS,
            APPROVE_VISITS,
            INVITE_VISITORS,
            VIEW_TASKS,
            ORGANISE_EVENTS,
            VIEW_RECORDS,
        }
    ),
    # A host sees their own approvals in their inbox, not the company's list; they invite
    # visitors to themselves.
    Role.HOST: frozenset({INVITE_VISITORS, VIEW_TASKS, MARK_ROLL_CALL}),
    Role.RECEPTION: frozenset(
        {
            VIEW_COMPANY,
            VIEW_HOST,
            VIEW_VISIT,
            PRINT_SLIP,
            REGISTER_VISITS,
            VIEW_TASKS,
            VIEW_EXPECTED_TODAY,
            SEE_VISITOR_NAMES,
        }
    ),
    Role.SECURITY: frozenset(
        {
            VIEW_COMPANY,
            VIEW_VISIT,
            REVIEW_WATCHLIST_HITS,
            VIEW_TASKS,
            VIEW_WATCHLIST,
            PROPOSE_WATCHLIST,
            VIEW_ALERTS,
            ACKNOWLEDGE_ALERTS,
            VIEW_SECURITY_SCREEN,
            RUN_ROLL_CALLS,
            MARK_ROLL_CALL,
            VIEW_EXPECTED_TODAY,
            SEE_VISITOR_NAMES,
            REVOKE_PASSES,
            VIEW_RECORDS,
            FIND_PEOPLE,
        }
    ),
}


def sees_full_names(user: Any) -> bool:
    """The one rule of who sees visitors' full names on console pages: reception and security,
    who must greet a visitor at the desk or call them out in a roll call (ADR 0027). A page
    that shows them audits the view and says so (``full_names`` in the audit detail)."""
    return bool(user.has_perm(SEE_VISITOR_NAMES))


def visitor_name_for(user: Any, name: str) -> str:
    """A visitor's name as this user's console pages show it: whole, or masked ("赵*")."""
    return name if sees_full_names(user) else mask_name(name)

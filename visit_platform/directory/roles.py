"""What each role may do in a building. The permission backend reads this table."""

from __future__ import annotations

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
MANAGE_POLICIES = "workflows.change_scenariopolicy"
# The watchlist: security and property admins see it and propose; property admins approve.
VIEW_WATCHLIST = "visits.view_watchlistentry"
PROPOSE_WATCHLIST = "visits.add_watchlistentry"
APPROVE_WATCHLIST = "visits.approve_watchlistentry"
# viewflow lists a flow's tasks (Task.objects.queue/inbox) only to users who may view its
# processes; each task then asks for its own permission (the watchlist review: APPROVE_WATCHLIST).
VIEW_FLOW_PROCESSES = "viewflow.view_process"

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
        MANAGE_POLICIES,
        VIEW_WATCHLIST,
        PROPOSE_WATCHLIST,
        APPROVE_WATCHLIST,
        VIEW_FLOW_PROCESSES,
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
        }
    ),
    # A host will see their own visits in their inbox (issue 5), not the company's list.
    Role.HOST: frozenset(),
    Role.RECEPTION: frozenset({VIEW_COMPANY, VIEW_HOST, VIEW_VISIT, PRINT_SLIP, REGISTER_VISITS}),
    Role.SECURITY: frozenset({VIEW_COMPANY, VIEW_VISIT, VIEW_WATCHLIST, PROPOSE_WATCHLIST}),
}

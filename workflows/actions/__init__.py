"""Workflow actions, by concern: hosts' decision links (``links``), visitors' one-time codes
(``codes``), what the flows' nodes do (``steps``), the people's tasks (``tasks``), and a
request's routing, decision and withdrawal (``requests``), scenario policies
(``policies``), visitors' reminders before their visit (``reminders``), and the pass
reached from a WeChat invitation or an event's code (``invitations``).

The console's steps on an event (``events``) and on the watchlist (``watchlist``), which
run those flows' tasks, are reached by their module: ``from workflows.actions import
watchlist``.

This package re-exports the public names of these, so callers write
``from workflows.actions import ...`` whichever module holds the name.
"""

from workflows.actions.codes import (
    CODE_ATTEMPTS,
    CODE_INDEX,
    CODE_INTERVAL,
    CODE_LIFETIME,
    CODES_PER_HOUR,
    MOBILE_INDEX,
    send_one_time_code,
    verify_one_time_code,
)
from workflows.actions.invitations import (
    attendance_of,
    open_event_pass,
    open_invitation,
    resend_pass_by_sms,
    usable_pass,
)
from workflows.actions.links import (
    ACTION_LINK_LIFETIME,
    MAX_ACTION_CODE_LENGTH,
    IssuedLink,
    action_link_url,
    create_action_link,
    open_action_link,
    send_decision_link,
    spend_open_links,
    use_action_link,
)
from workflows.actions.policies import ensure_default_policies, update_policy
from workflows.actions.reminders import remind_visitor, remind_visitors
from workflows.actions.requests import (
    add_to_watchlist,
    approve_watchlist_entry,
    cancel_invitation,
    cancel_request,
    decide_by_link,
    submit_request,
    withdraw_request,
)
from workflows.actions.steps import (
    DESK_SCENARIOS,
    FLOW_ACTOR,
    RETURNING_WITHIN,
    after_decision,
    approve_automatically,
    ask_for_approval,
    escalate_approval,
    expire_request,
    flow_of,
    is_returning_visitor,
    needs_approval,
    refuse_watchlisted,
    remind_approver,
    screen_visitor,
    send_pass_link,
    start_visit_flow,
    tell_visitor,
)
from workflows.actions.tasks import (
    APPROVAL_NODES,
    MAX_PHOTO_BYTES,
    OPEN,
    cancel_open_tasks,
    claim_task,
    decide_task,
    finish_task,
    hand_over_pass,
    open_approval_task,
    open_tasks_of,
    release_task,
    review_watchlist_hit,
    verify_at_desk,
)

__all__ = [
    "ACTION_LINK_LIFETIME",
    "APPROVAL_NODES",
    "CODES_PER_HOUR",
    "CODE_ATTEMPTS",
    "CODE_INDEX",
    "CODE_INTERVAL",
    "CODE_LIFETIME",
    "DESK_SCENARIOS",
    "FLOW_ACTOR",
    "MAX_ACTION_CODE_LENGTH",
    "MAX_PHOTO_BYTES",
    "MOBILE_INDEX",
    "OPEN",
    "RETURNING_WITHIN",
    "IssuedLink",
    "action_link_url",
    "add_to_watchlist",
    "after_decision",
    "approve_automatically",
    "approve_watchlist_entry",
    "ask_for_approval",
    "attendance_of",
    "cancel_invitation",
    "cancel_open_tasks",
    "cancel_request",
    "claim_task",
    "create_action_link",
    "decide_by_link",
    "decide_task",
    "ensure_default_policies",
    "escalate_approval",
    "expire_request",
    "finish_task",
    "flow_of",
    "hand_over_pass",
    "is_returning_visitor",
    "needs_approval",
    "open_action_link",
    "open_approval_task",
    "open_event_pass",
    "open_invitation",
    "open_tasks_of",
    "refuse_watchlisted",
    "release_task",
    "remind_approver",
    "remind_visitor",
    "remind_visitors",
    "resend_pass_by_sms",
    "review_watchlist_hit",
    "screen_visitor",
    "send_decision_link",
    "send_one_time_code",
    "send_pass_link",
    "spend_open_links",
    "start_visit_flow",
    "submit_request",
    "tell_visitor",
    "update_policy",
    "usable_pass",
    "use_action_link",
    "verify_at_desk",
    "verify_one_time_code",
    "withdraw_request",
]

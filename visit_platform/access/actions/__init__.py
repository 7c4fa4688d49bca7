"""The access package's interface for changes: import actions from here
(``from visit_platform.access.actions import issue_pass``), not from the modules, which are
split by concern and may move. Every change to passes, gates, controllers, gate agents and
signing keys, the gate decision, reported passages and alerts (and their acknowledgement),
and gate commands is one of these functions. Reads are in ``visit_platform.access.queries``.
"""

from visit_platform.access.actions._common import publish_visit_change
from visit_platform.access.actions.alerts import (
    MAX_ACKNOWLEDGEMENT_NOTE,
    acknowledge_alert,
    alert_payload,
    note_alert_visitors_viewed,
    publish_alert,
    raise_alert,
    raise_watchlist_hit,
)
from visit_platform.access.actions.commands import (
    COMMAND_LIFETIME,
    claim_gate_commands,
    finish_gate_command,
    request_gate_pulse,
)
from visit_platform.access.actions.decision import Decision, ScannedPass, decide_scan, payload_of
from visit_platform.access.actions.gates import (
    MAX_POLL_INTERVAL_MS,
    MIN_POLL_INTERVAL_MS,
    ControllerFields,
    GateFields,
    claim_controllers,
    create_gate,
    create_gate_agent,
    deactivate_gate_agents,
    save_controller,
    save_gate,
    touch_agent,
    update_gate,
    wire_gate,
)
from visit_platform.access.actions.keys import (
    ROTATING_TOKEN_SECONDS,
    pass_token,
    rotate_signing_key,
)
from visit_platform.access.actions.overstay_links import (
    EXTENSION_MINUTES,
    extend_by_link,
    extension_choices,
    left_by_link,
    open_overstay_link,
    overstay_url,
)
from visit_platform.access.actions.overstays import (
    check_out_at_day_end,
    check_overstays,
    escalate_overstays,
    find_overstays,
    note_overstays,
)
from visit_platform.access.actions.passages import (
    AlertReport,
    InvalidBatchError,
    PassageReport,
    ReportedAlert,
    ReportedPassage,
    record_alert,
    record_alerts,
    record_passage,
    record_passages,
)
from visit_platform.access.actions.passes import (
    IssuedPass,
    issue_pass,
    issue_passes,
    note_slip_printed,
    pass_url,
    refresh_pass_link,
    renew_pass_link,
    revoke_pass,
    revoke_passes_of_visitors,
)
from visit_platform.access.actions.screens import note_occupancy_viewed
from visit_platform.access.actions.settings import SecuritySettings, change_security_settings
from visit_platform.access.actions.stays import check_out_on_word, extend_visit

__all__ = [
    "COMMAND_LIFETIME",
    "EXTENSION_MINUTES",
    "MAX_ACKNOWLEDGEMENT_NOTE",
    "MAX_POLL_INTERVAL_MS",
    "MIN_POLL_INTERVAL_MS",
    "ROTATING_TOKEN_SECONDS",
    "AlertReport",
    "ControllerFields",
    "Decision",
    "GateFields",
    "InvalidBatchError",
    "IssuedPass",
    "PassageReport",
    "ReportedAlert",
    "ReportedPassage",
    "ScannedPass",
    "SecuritySettings",
    "acknowledge_alert",
    "alert_payload",
    "change_security_settings",
    "check_out_at_day_end",
    "check_out_on_word",
    "check_overstays",
    "claim_controllers",
    "claim_gate_commands",
    "create_gate",
    "create_gate_agent",
    "deactivate_gate_agents",
    "decide_scan",
    "escalate_overstays",
    "extend_by_link",
    "extend_visit",
    "extension_choices",
    "find_overstays",
    "finish_gate_command",
    "issue_pass",
    "issue_passes",
    "left_by_link",
    "note_alert_visitors_viewed",
    "note_occupancy_viewed",
    "note_overstays",
    "note_slip_printed",
    "open_overstay_link",
    "overstay_url",
    "pass_token",
    "pass_url",
    "payload_of",
    "publish_alert",
    "publish_visit_change",
    "raise_alert",
    "raise_watchlist_hit",
    "record_alert",
    "record_alerts",
    "record_passage",
    "record_passages",
    "refresh_pass_link",
    "renew_pass_link",
    "request_gate_pulse",
    "revoke_pass",
    "revoke_passes_of_visitors",
    "rotate_signing_key",
    "save_controller",
    "save_gate",
    "touch_agent",
    "update_gate",
    "wire_gate",
]

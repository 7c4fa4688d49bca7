"""The security desk's settings of a building: when a stay becomes an overstay and goes to
security, when the day ends, whether the visitor is told, and when gates raise alerts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import time

from django.db import transaction
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor, record

# Sane bounds for each number: (lowest, highest).
SETTING_RANGES: dict[str, tuple[int, int]] = {
    "overstay_grace_minutes": (0, 720),
    "overstay_escalation_minutes": (5, 720),
    "gate_silence_seconds": (30, 3600),
    "denial_burst_count": (2, 100),
    "denial_burst_seconds": (10, 3600),
}
# The day ends in the afternoon or evening: a day end in the small hours would check out
# the visitors of the evening before their day is over.
EARLIEST_DAY_END = time(12, 0)


@dataclass(frozen=True)
class SecuritySettings:
    overstay_grace_minutes: int
    overstay_escalation_minutes: int
    overstay_tells_visitor: bool
    day_end_time: time
    gate_silence_seconds: int
    denial_burst_count: int
    denial_burst_seconds: int

    @classmethod
    def of(cls, building: Building) -> SecuritySettings:
        return cls(**{name: getattr(building, name) for name in cls.__dataclass_fields__})


def _check(settings: SecuritySettings) -> None:
    for name, (lowest, highest) in SETTING_RANGES.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
            raise DomainError(
                "setting_out_of_range",
                _("Enter a whole number from %(lowest)d to %(highest)d.")
                % {"lowest": lowest, "highest": highest},
                field=name,
            )
    day_end = settings.day_end_time
    if not isinstance(day_end, time) or day_end < EARLIEST_DAY_END:
        raise DomainError(
            "setting_out_of_range",
            _("The day ends between 12:00 and 23:59."),
            field="day_end_time",
        )
    if day_end.second or day_end.microsecond or day_end.tzinfo is not None:
        raise DomainError(
            "setting_out_of_range",
            _("Give the end of day in hours and minutes."),
            field="day_end_time",
        )


@transaction.atomic
def change_security_settings(actor: Actor, settings: SecuritySettings) -> list[str]:
    """Check every value (whole numbers in sane ranges, a day end in the afternoon or evening)
    and save the building's security settings, audited with what changed. Refuses all of
    them if one is wrong. Returns the names of the settings that changed."""
    _check(settings)
    building = Building.objects.select_for_update().get(schema_name=current_schema())
    before = SecuritySettings.of(building)
    changes = {
        name: [str(old), str(new)]
        for (name, old), new in zip(asdict(before).items(), asdict(settings).values(), strict=True)
        if old != new
    }
    if not changes:
        return []
    for name, value in asdict(settings).items():
        setattr(building, name, value)
    building.save(update_fields=list(changes))
    record(actor, "building.security_settings_changed", building, changes=changes)
    return list(changes)

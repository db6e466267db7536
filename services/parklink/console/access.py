"""What each kind of console token may see and do. Pure logic.

An alliance operator sees every alert and may do everything, the audit trail included. A park
operator sees only the alerts whose `parks` name their park — through every way out: the list,
one alert, the stream, its history, the timeline and webhooks — and may acknowledge, silence
and subscribe only within it. A viewer reads alerts and silences and changes nothing. A park
(publisher) token has no business with the console."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from parklink.console.matching import Silence
from parklink.eventkit.tokens import Principal, Role

CONSOLE_ROLES = (Role.OPERATOR, Role.PARK_OPERATOR, Role.VIEWER)


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the audit trail records it: a token's name and role."""

    name: str
    role: str = Role.OPERATOR.value


@dataclass(frozen=True)
class Access:
    principal: Principal

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role.value)

    @property
    def park(self) -> str | None:
        """The one park this token is limited to; None for the whole alliance."""
        return self.principal.park if self.role is Role.PARK_OPERATOR else None

    @property
    def may_read(self) -> bool:
        return self.role in CONSOLE_ROLES

    @property
    def may_act(self) -> bool:
        """Acknowledge and silence (within `park` for a park operator)."""
        return self.role in (Role.OPERATOR, Role.PARK_OPERATOR)

    @property
    def may_subscribe(self) -> bool:
        """Manage webhooks (a park operator's receive only the park's alerts)."""
        return self.role in (Role.OPERATOR, Role.PARK_OPERATOR)

    @property
    def may_audit(self) -> bool:
        return self.role is Role.OPERATOR

    def sees(self, parks: Sequence[str]) -> bool:
        """Whether an alert naming `parks` is visible to this token."""
        return self.park is None or self.park in parks

    def owns_scope(self, park: str | None) -> bool:
        """Whether a webhook or silence limited to `park` (None: alliance-wide) is this
        token's to see and change."""
        return self.park is None or park == self.park

    def sees_silence(self, silence: Silence, alert_parks: Sequence[str] | None) -> bool:
        """A park operator sees the silences of their park and the alliance-wide ones that
        may cover their alerts; one aimed at a single alert only when that alert is theirs
        (`alert_parks`: the parks of that alert, None when unknown)."""
        if self.park is None:
            return True
        m = silence.matchers
        if m.park is not None:
            return m.park == self.park
        if m.alert_id is not None:
            return alert_parks is not None and self.park in alert_parks
        return True

    def grants(self) -> dict[str, bool]:
        return {
            "read": self.may_read,
            "acknowledge": self.may_act,
            "silence": self.may_act,
            "webhooks": self.may_subscribe,
            "audit": self.may_audit,
        }

"""Dispositions: the codes an agent closes a call with (per queue, per campaign), as the
admin writes them, and closing a call (pure): a disposition checked against the codes,
its notes and ticket status, a follow-up time, and note templates filled from the call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.yamlconf import placeholders


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TEMPLATE_FIELDS = frozenset({"customer_name", "account", "number", "date", "reference", "agent",
                             "queue", "notes"})
TicketStatus = Literal["open", "resolved", "closed", "requires_follow_up"]


class DispositionCode(_Strict):
    """One call-type code (`category/sub-category`): whether notes are required, the
    ticket status it sets, and a note template agents paste and complete."""

    notes: Literal["optional", "required"] = "optional"
    ticket: TicketStatus | None = None
    template: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _fields(self) -> DispositionCode:
        if self.template is not None:
            try:
                used = placeholders(self.template)
            except ValueError as exc:
                raise ValueError(f"template: {exc}") from None
            unknown = used - TEMPLATE_FIELDS
            if unknown:
                raise ValueError(f"template uses unknown placeholder(s) {sorted(unknown)}; "
                                 f"known: {sorted(TEMPLATE_FIELDS)}")
        return self


class Dispositions(_Strict):
    codes: dict[Annotated[str, Field(pattern=r"^[a-z0-9_]+(/[a-z0-9_]+)?$")], DispositionCode] = \
        Field(min_length=1)
    default: str  # given (and flagged) when the agent sends none before wrap-up ends

    @model_validator(mode="after")
    def _default(self) -> Dispositions:
        if self.default not in self.codes:
            raise ValueError(f"default {self.default!r} is not one of the codes")
        return self


TICKET_STATUSES: tuple[TicketStatus, ...] = ("open", "resolved", "closed", "requires_follow_up")


@dataclass(frozen=True, slots=True)
class Closing:
    """What the agent's disposition does, once checked."""

    code: str
    notes: str
    ticket: TicketStatus | None
    follow_up_at: float | None  # epoch seconds
    follow_up_to: str  # "agent" (the same agent) or "queue"


def check_closing(d: Dispositions | None, code: str, notes: str, *, notes_max: int,
                  ticket: str | None, follow_up_at: str | None, follow_up_to: str | None,
                  now: float, is_open: Callable[[datetime], bool] | None) -> Closing | str:
    """A Closing, or why the disposition is refused (nothing is stored then)."""
    if d is None:
        return "this queue has no dispositions configured"
    spec = d.codes.get(code)
    if spec is None:
        return f"disposition {code!r} is not one of this queue's: {sorted(d.codes)}"
    notes = notes.strip()
    if len(notes) > notes_max:
        return f"notes are {len(notes)} characters; the limit is {notes_max}"
    if spec.notes == "required" and not notes:
        return f"disposition {code!r} requires notes"
    status = ticket if ticket is not None else spec.ticket
    if status is not None and status not in TICKET_STATUSES:
        return f"ticket status {status!r} must be one of {list(TICKET_STATUSES)}"
    due: float | None = None
    if status == "requires_follow_up" or follow_up_at is not None:
        if follow_up_at is None:
            return "a ticket that requires follow-up needs follow_up_at (ISO 8601 with a zone)"
        try:
            when = datetime.fromisoformat(follow_up_at)
        except ValueError:
            return f"follow_up_at {follow_up_at!r} is not an ISO 8601 date and time"
        if when.tzinfo is None:
            return f"follow_up_at {follow_up_at!r} needs a time zone (e.g. +01:00 or Z)"
        due = when.timestamp()
        if due <= now:
            return f"follow_up_at {follow_up_at} is in the past"
        if is_open is not None and not is_open(when):
            return f"follow_up_at {follow_up_at} is outside business hours"
        status = status or "requires_follow_up"
    to = follow_up_to or "agent"
    if to not in ("agent", "queue"):
        return f"follow_up_to must be agent or queue, not {to!r}"
    return Closing(code, notes, status, due, to)  # type: ignore[arg-type]


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fill_template(template: str, fields: Mapping[str, str]) -> str:
    """The template with the call's values; a value the call does not have is left empty."""
    return template.format_map(_Blank(fields))


def template_fields(*, customer_name: str, account: str, number: str, at: float, reference: str,
                    agent: str, queue: str) -> dict[str, str]:
    return {"customer_name": customer_name, "account": account, "number": number,
            "date": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d"),
            "reference": reference, "agent": agent, "queue": queue}

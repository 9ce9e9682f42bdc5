"""Satisfaction surveys after a call that closed its ticket: an email invitation when the
customer has an address (a row in `email_outbox`), else a short survey call (keys 1-5)
whose answers are stored on the interaction that asked for it."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import structlog

from acd.model import Survey
from asterisk.errors import AgiChannelGone, AmiError
from asterisk.events import OriginateResponse
from core.events import CallDataUpdated, CallStepped

if TYPE_CHECKING:
    from acd.service import AcdService


class Surveys:
    def __init__(self, acd: AcdService) -> None:
        self.acd = acd
        self.log = structlog.get_logger("acd.survey")

    def after_close(self, call_id: str, number: str) -> None:
        survey = self.acd.config.survey
        if survey is None or not number:
            return
        self.acd.spawn(self._run(survey, call_id, number))

    async def _run(self, survey: Survey, origin: str, number: str) -> None:
        await asyncio.sleep(survey.delay)
        records = self.acd.after.records
        try:
            email = await records.customer_email(number)
        except Exception as exc:  # the store is busy: call instead of emailing
            self.log.warning("acd.survey_lookup_failed", call_id=origin, error=str(exc)[:200])
            email = ""
        now = self.acd.clock()
        if email:
            body = (f"Thank you for calling us. Please tell us how we did: "
                    f"{survey.email_link.format(interaction=origin)}")

            async def op() -> None:
                await records.queue_email(email, survey.email_subject, body, origin, now)

            self.acd.journal.submit(f"survey email {origin}", op)
            self.acd.bus.publish(CallStepped(origin, "survey.emailed", now, {"to": email}))
            return
        await self._call(survey, origin, number)

    async def _call(self, survey: Survey, origin: str, number: str) -> None:
        acd = self.acd
        survey_id = uuid.uuid4().hex[:16]
        leg = f"srv-{uuid.uuid4().hex[:12]}"
        acd.registry.expect(leg, survey_id)
        response: OriginateResponse | None = None
        try:
            outcome = await acd.ami.originate({
                "Channel": survey.dial.format(number=number), "Context": "centralita-legs",
                "Exten": "survey", "Priority": "1", "ChannelId": leg,
                "Timeout": str(int(survey.ring_timeout * 1000)),
                "CallerID": survey.caller_id or "survey",
                "Variable": [f"CENTRALITA_CALL_ID={survey_id}"]})
            response = await asyncio.wait_for(outcome, survey.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.survey_originate_failed", call_id=origin, error=str(exc))
        if response is None or not response.success:
            acd.bus.publish(CallStepped(origin, "survey.unanswered", acd.clock(), {"number": number}))
            return
        if acd.registry.open(survey_id, response.channel, caller_num=number, kind="survey",
                             dnis="survey") is None:
            return
        answers: dict[str, Any] = {}
        agi = acd.ami.agi
        try:
            if survey.intro:
                await agi(response.channel, f"GET DATA {survey.intro} 1 1", timeout=60)
            for q in survey.questions:
                key = ""
                for attempt in range(2):
                    if not key:
                        r = await agi(response.channel, f"GET DATA {q.prompt} 6000 1", timeout=60)
                        key = r.result if r.result not in ("", "-1") else ""
                    if key.isdigit() and q.lowest <= int(key) <= q.highest:
                        answers[q.id] = int(key)
                        break
                    if key and attempt == 0:  # a key pressed over "invalid" is the next try
                        r = await agi(response.channel, "GET DATA invalid 1 1", timeout=30)
                        key = r.result if r.result not in ("", "-1") else ""
            await agi(response.channel, f"EXEC Playback {survey.thanks}", timeout=60)
            await agi(response.channel, "HANGUP", timeout=10)
        except AgiChannelGone:
            pass  # hung up part-way: what was answered is kept
        except AmiError as exc:
            self.log.warning("acd.survey_failed", call_id=survey_id, error=str(exc))
        now = acd.clock()
        complete = len(answers) == len(survey.questions)
        acd.bus.publish(CallDataUpdated(survey_id, now, {"survey": answers, "origin": origin},
                                        outcome="survey_complete" if complete else "survey_partial"))
        acd.bus.publish(CallDataUpdated(origin, now, {"survey": {
            "answers": answers, "call_id": survey_id, "complete": complete}}))
        acd.bus.publish(CallStepped(origin, "survey.answered", now,
                                    {"answers": answers, "call_id": survey_id}))

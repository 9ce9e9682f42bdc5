"""Satisfaction surveys after a call that closed its ticket: an email invitation when the
customer has an address (a row in `email_outbox`), else a short survey call (keys 1-5)
whose answers are stored on the interaction that asked for it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog

from acd.model import Survey
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AgiChannelGone, AmiError
from asterisk.events import OriginateResponse
from core.ports import Ports
from core.records import AfterCallRecords


class Surveys:
    def __init__(self, ports: Ports, survey: Survey | None, records: AfterCallRecords) -> None:
        self.ports = ports
        self.survey = survey
        self.records = records
        self.log = structlog.get_logger("acd.survey")

    def after_close(self, call_id: str, number: str) -> None:
        if self.survey is None or not number:
            return
        self.ports.spawn(self._run(self.survey, call_id, number))

    async def _run(self, survey: Survey, origin: str, number: str) -> None:
        await asyncio.sleep(survey.delay)
        records = self.records
        try:
            email = await records.customer_email(number)
        except Exception as exc:  # the store is busy: call instead of emailing
            self.log.warning("acd.survey_lookup_failed", call_id=origin, error=str(exc)[:200])
            email = ""
        now = self.ports.clock()
        if email:
            body = (f"Thank you for calling us. Please tell us how we did: "
                    f"{survey.email_link.format(interaction=origin)}")

            async def op() -> None:
                await records.queue_email(email, survey.email_subject, body, origin, now)

            self.ports.journal.submit(f"survey email {origin}", op)
            self.ports.step(origin, "survey.emailed", {"to": email}, at=now)
            return
        await self._call(survey, origin, number)

    async def _call(self, survey: Survey, origin: str, number: str) -> None:
        ports = self.ports
        survey_id = uuid.uuid4().hex[:16]
        leg = f"srv-{uuid.uuid4().hex[:12]}"
        ports.registry.expect(leg, survey_id)
        response: OriginateResponse | None = None
        try:
            outcome = await ports.ami.originate(actions.originate(
                channel=survey.dial.format(number=number), context=dp.LEGS, exten=dp.SURVEY,
                channel_id=leg, ring_timeout=survey.ring_timeout,
                caller_id=survey.caller_id or "survey", variables={dp.CALL_ID: survey_id}))
            response = await asyncio.wait_for(outcome, survey.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.survey_originate_failed", call_id=origin, error=str(exc))
        if response is None or not response.success:
            ports.step(origin, "survey.unanswered", {"number": number})
            return
        if ports.registry.open(survey_id, response.channel, caller_num=number, kind="survey",
                               dnis="survey") is None:
            return
        answers: dict[str, Any] = {}
        agi = ports.agi(response.channel)
        try:
            if survey.intro:
                await agi.prompt(survey.intro, timeout=60)
            for q in survey.questions:
                key = ""
                for attempt in range(2):
                    if not key:
                        r = await agi.get_data(q.prompt, 6000, 1, timeout=60)
                        key = r.result if r.result not in ("", "-1") else ""
                    if key.isdigit() and q.lowest <= int(key) <= q.highest:
                        answers[q.id] = int(key)
                        break
                    if key and attempt == 0:  # a key pressed over "invalid" is the next try
                        r = await agi.prompt("invalid", timeout=30)
                        key = r.result if r.result not in ("", "-1") else ""
            await agi.play(survey.thanks, timeout=60)
            await agi.hangup()
        except AgiChannelGone:
            pass  # hung up part-way: what was answered is kept
        except AmiError as exc:
            self.log.warning("acd.survey_failed", call_id=survey_id, error=str(exc))
        now = ports.clock()
        complete = len(answers) == len(survey.questions)
        ports.data(survey_id, {"survey": answers, "origin": origin},
                   outcome="survey_complete" if complete else "survey_partial", at=now)
        ports.data(origin, {"survey": {"answers": answers, "call_id": survey_id,
                                       "complete": complete}}, at=now)
        ports.step(origin, "survey.answered", {"answers": answers, "call_id": survey_id}, at=now)

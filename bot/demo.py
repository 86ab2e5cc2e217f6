"""`supportbot demo`: a scripted support morning against the local Slack stand-in.

Everything real runs: the Bolt app behind waitress, signed HTTP requests built like Slack's, the
outbox dispatcher, SQLite. Only Slack itself is played by `bot.standin` and `bot.slack_driver`.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import parse_config
from bot.runtime import Runtime, build_runtime
from bot.server import create_http_server
from bot.slack_driver import SlackDriver, initial_values, select_value, text_value
from bot.standin import RecordedCall, SlackStandin
from storage.migrate import upgrade_schema
from storage.models import Escalation, Ticket
from storage.repositories import EscalationRepository, NoteRepository, TicketRepository
from templates.csat import RATING_ACTIONS, rating_value
from templates.customers import customer_reply
from templates.ids import ActionId, BlockId, CallbackId
from templates.notices import ticket_notice
from templates.render import plain_dates, terminal_text
from templates.sla import sla_digest_message
from workflows.clock import ManualClock
from workflows.export import export_records
from workflows.knowledge import reindex
from workflows.schedule import run_csat_digest, run_sla_sweep, run_weekly_digest
from workflows.sla_digest import build_sla_digest
from workflows.triage import close_expired
from workflows.vocabulary import CsatRating

SIGNING_SECRET = "demo-signing-secret"
DEMO_CONFIG: dict[str, Any] = {
    "timezone": "America/New_York",
    "agents": ["U0SAM", "U0PRIYA"],
    "intake": [
        {"channel": "C0HELP", "queue": "general"},
        {"channel": "C0BILLING", "queue": "billing"},
    ],
    "triage_channel": "C0TRIAGE",
    "customer_channels": [{"channel": "C0ACME", "customer": "Acme Corp", "tier": "enterprise"}],
    "engineering": [
        {"product": "default", "channel": "C0ENG"},
        {"product": "Billing", "channel": "C0ENGBILL"},
        {"product": "Login & SSO", "channel": "C0ENGSSO"},
    ],
    "default_priority": "medium",
    "business_hours": {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
    },
    "sla": {
        "urgent": {"first_response": "15m", "resolution": "4h", "around_the_clock": True},
        "high": {"first_response": "1h", "resolution": "8h"},
        "medium": {"first_response": "4h", "resolution": "24h"},
        "low": {"first_response": "8h", "resolution": "72h"},
    },
    "queues": [
        {"name": "billing", "auto_assign": "least_loaded"},
        {"name": "general", "lead": "U0PRIYA"},  # hears about low CSAT ratings
    ],
    "rules": [
        {
            "if": {"text": ["SSO", "sign in", "log in"]},
            "then": {"priority": "high", "tags": ["sso"]},
        }
    ],
}
CHANNELS = {
    "C0HELP": "help",
    "C0BILLING": "billing-help",
    "C0SALES": "sales-floor",
    "C0TRIAGE": "support-triage",
    "C0ACME": "acme",
    "C0ENG": "eng",
    "C0ENGBILL": "eng-billing",
    "C0ENGSSO": "eng-sso",
    "C0MGRS": "support-managers",
    "C0IDEAS": "product-ideas",
}
# Slack Connect: #acme is shared with Acme Corp's workspace; its people belong to their team.
SHARED_CHANNELS = {"C0ACME"}
CUSTOMER_TEAMS = {"U0ACMEJO": "T0ACME"}
PEOPLE = {
    "U0ALICE": "Alice (sales)",
    "U0BOB": "Bob (customer success)",
    "U0CAROL": "Carol (billing)",
    "U0DAVE": "Dave (sales)",
    "U0SAM": "Sam (support agent)",
    "U0PRIYA": "Priya (support agent)",
    "U0ACMEJO": "Jo (Acme Corp, customer)",
    "U0MAX": "Max (engineer)",
    "U0LEE": "Lee (billing engineer)",
    "U0PAT": "Pat (product manager)",
}
# The knowledge base the demo answers from: the sample shipped with the product, copied to a
# temporary folder (Save as article writes its draft there).
SAMPLE_KB = Path(__file__).resolve().parent / "sample_kb"
SHIPPED_NEWS = "Good news: the feature you asked for in"
# How a morning goes: the demo starts at 09:00, a few minutes pass between steps and a minute
# before each thing someone does, so response times read like real ones rather than "0s".
DEMO_START_HOUR = 9
STEP_GAP_MINUTES = 3
ACTION_GAP_MINUTES = 1


class Demo:
    def __init__(
        self,
        runtime: Runtime,
        standin: SlackStandin,
        slack: SlackDriver,
        out: TextIO,
        clock: ManualClock,
    ):
        self.runtime = runtime
        # The desk's, Slack's and the driver's one clock: it moves only when the script says
        # time passes, so the figures read like a morning's.
        self.clock = clock
        self.standin = standin
        self.slack = slack
        self.out = out
        self._seen = 0
        self.latencies: list[float] = []
        # (agent, text) of every Reply to customer submitted, for the customer-channel check.
        self.sent_to_customers: list[tuple[str, str]] = []

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def step(self, title: str) -> None:
        self.pause(minutes=STEP_GAP_MINUTES)
        self.say()
        self.say(f"── {title}")

    def pause(self, *, minutes: float) -> None:
        """Time passes before the next thing someone does (people take a moment to act)."""
        self.clock.advance(timedelta(minutes=minutes))

    def person_posts(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        self.pause(minutes=ACTION_GAP_MINUTES)
        ts = self.standin.seed_message(channel, user=user, text=text, thread_ts=thread_ts)
        where = _where(channel) + (" (in the thread)" if thread_ts else "")
        self.say(f"   {PEOPLE[user]} in {where}: “{text}”")
        self.timed_event(
            self.slack.message_event(
                channel=channel,
                user=user,
                text=text,
                ts=ts,
                thread_ts=thread_ts,
                user_team=CUSTOMER_TEAMS.get(user),
            ),
            shared=channel in SHARED_CHANNELS,
        )
        return ts

    def timed_event(self, event: dict[str, Any], **kwargs: Any) -> None:
        started = time.perf_counter()
        reply = self.slack.send_event(event, **kwargs)
        self.deliver()
        self.latencies.append(time.perf_counter() - started)
        if reply.status != 200:
            self.say(f"   !! Slack got HTTP {reply.status}")

    def ticket(self, ticket_id: int) -> Ticket:
        with self.runtime.session_factory.begin() as session:
            ticket = TicketRepository(session).get(ticket_id)
            assert ticket is not None
            return ticket

    def react(self, user: str, reaction: str, *, channel: str, ts: str, author: str) -> None:
        """Someone adds an emoji to a message, as Slack reports it."""
        self.pause(minutes=ACTION_GAP_MINUTES)
        self.timed_event(
            self.slack.reaction_event(
                user=user,
                reaction=reaction,
                channel=channel,
                ts=ts,
                item_user=author,
                event_ts=self.standin.next_ts(),
            )
        )

    def press(self, user: str, ticket: Ticket, action_id: str, *, quiet: bool = False) -> None:
        """Press a button on the ticket's card, as Slack would send it."""
        self.pause(minutes=ACTION_GAP_MINUTES)
        card = next(
            m for m in self.standin.messages(ticket.card_channel or "") if m["ts"] == ticket.card_ts
        )
        started = time.perf_counter()
        self.slack.press(
            user=user,
            message=card,
            channel=ticket.card_channel or "",
            action_id=action_id,
            value=str(ticket.id),
            action_ts=self.standin.next_ts(),  # Slack's time, which the demo moves on
        )
        if quiet:
            self.quietly()
            return
        self.deliver()
        self.latencies.append(time.perf_counter() - started)

    def press_escalation(self, user: str, escalation_id: int, action_id: str) -> None:
        """Press a button on an escalation's card in its engineering channel."""
        self.pause(minutes=ACTION_GAP_MINUTES)
        with self.runtime.session_factory.begin() as session:
            escalation = EscalationRepository(session).get(escalation_id)
            assert escalation is not None and escalation.channel
            channel, ts = escalation.channel, escalation.card_ts
        card = next(m for m in self.standin.messages(channel) if m["ts"] == ts)
        self.slack.press(
            user=user, message=card, channel=channel, action_id=action_id, value=str(escalation_id)
        )
        self.deliver()

    def deliver(self) -> None:
        self.runtime.settle()
        self.report_bot()

    def quietly(self) -> None:
        """Deliver what the bot owes without listing it (the fast-forwarded week)."""
        self.runtime.settle()
        self._seen = len(self.standin.calls())

    def move_to(self, moment: datetime) -> None:
        """Jump ahead to `moment` (the desk's clock is Slack's too)."""
        if moment > self.clock.now():
            self.clock.set(moment)

    def report_bot(self) -> None:
        calls = self.standin.calls()
        for call in calls[self._seen :]:
            line = describe_call(call)
            if line:
                self.say(f"   bot → {line}")
        self._seen = len(calls)


def describe_call(call: RecordedCall) -> str | None:
    args = call.args
    where = _where(args.get("channel", ""))
    if call.method == "chat.postMessage":
        place = f"{where}, in the thread" if args.get("thread_ts") else where
        return f"{place}:\n{_indent(_card_text(args))}"
    if call.method == "chat.postEphemeral":
        return f"only {PEOPLE.get(args.get('user', ''), args.get('user'))} sees: {args.get('text')}"
    if call.method == "views.open":
        title = args["view"].get("title", {}).get("text", "a form")
        return f"opens “{title}”: " + ", ".join(_block_labels(args["view"]))
    if call.method == "views.update":
        return "updates the form: " + ", ".join(_block_labels(args["view"]))
    if call.method == "views.publish":
        who = PEOPLE.get(args.get("user_id", ""), args.get("user_id"))
        return f"shows {who} their App Home:\n{_indent(_card_text(args['view']))}"
    if call.method == "chat.update":
        return f"updates the card in {where}:\n{_indent(_card_text(args))}"
    if call.method in {"conversations.history", "conversations.replies"}:
        return f"reads the reacted message in {where}"
    return None


def _where(channel: str) -> str:
    """A channel's name, marked where it matters who reads it: the customer, or only agents."""
    if channel in SHARED_CHANNELS:
        return f"#{CHANNELS[channel]} [customer-visible]"
    if channel == DEMO_CONFIG["triage_channel"]:
        return f"#{CHANNELS[channel]} [agents only]"
    if channel in CHANNELS:
        return f"#{CHANNELS[channel]}"
    return PEOPLE.get(channel, channel)


def _card_text(args: dict[str, Any]) -> str:
    lines: list[str] = []
    for block in args.get("blocks") or []:
        if block.get("type") == "header":
            lines.append(f"[{block['text']['text']}]")
        elif block.get("type") == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            fields = [f["text"].replace("\n", ": ", 1) for f in block.get("fields", [])]
            if fields:
                lines.append(" | ".join(fields))
        elif block.get("type") == "context":
            lines.extend(element.get("text", "") for element in block.get("elements", []))
    return "\n".join(lines) or args.get("text", "")


def _indent(text: str) -> str:
    return "\n".join(f"        {line}" for line in text.splitlines())


def _block_labels(view: dict[str, Any]) -> list[str]:
    return [block["label"]["text"] for block in view.get("blocks", []) if "label" in block]


def demo_config(today: date, kb: Path | None = None) -> dict[str, Any]:
    """The demo desk; its week starts today, so its weekly digest (posted on the same weekday a
    week later) covers the scripted week. With `kb`, it answers from that knowledge base."""
    config = {**DEMO_CONFIG, "digests": {"channel": "C0MGRS", "weekly_on": f"{today:%a}".lower()}}
    config["feature_requests"] = {"channel": "C0IDEAS", "owners": ["U0PAT"]}
    if kb is not None:
        config["knowledge_base"] = {"path": str(kb)}
    return config


def run_demo(
    *, database_url: str | None, out: TextIO, today: date, charts: str | None = None
) -> int:
    """The scripted morning starts at 09:00 on `today` in the demo desk's zone."""
    tz = ZoneInfo(DEMO_CONFIG["timezone"])
    clock = ManualClock(datetime.combine(today, clock_time(DEMO_START_HOUR), tz).astimezone(UTC))
    charts_dir = Path(charts) if charts else Path(tempfile.mkdtemp(prefix="supportbot-charts-"))
    with tempfile.TemporaryDirectory(prefix="supportbot-demo-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'demo.db'}"
        with SlackStandin(clock=clock) as standin:
            for channel, name in CHANNELS.items():
                standin.add_channel(channel, name=name, is_ext_shared=channel in SHARED_CHANNELS)
            for user, name in PEOPLE.items():
                standin.add_user(
                    user,
                    name=name.split()[0].lower(),
                    real_name=name,
                    team_id=CUSTOMER_TEAMS.get(user),
                )
            kb = Path(tmp) / "kb"
            shutil.copytree(SAMPLE_KB, kb)
            runtime = build_runtime(
                config=parse_config(demo_config(today, kb)),
                database_url=url,
                api_url=standin.url,
                bot_token=next(iter(standin.tokens)),
                signing_secret=SIGNING_SECRET,
                clock=clock,
            )
            upgrade_schema(runtime.engine)
            with runtime.session_factory.begin() as session:
                reindex(session, kb, now=clock.now())
            server = create_http_server(runtime.wsgi(), host="127.0.0.1", port=0, threads=4)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            slack = SlackDriver(
                f"http://127.0.0.1:{server.effective_port}/slack/events",
                SIGNING_SECRET,
                clock=clock,
                next_ts=standin.next_ts,
            )
            try:
                play(Demo(runtime, standin, slack, out, clock), charts_dir=charts_dir)
            finally:
                server.close()
                runtime.close()
    return 0


def play(demo: Demo, *, charts_dir: Path) -> None:
    say = demo.say
    say("supportbot demo: a support morning, played against a local stand-in of Slack.")
    say("Watched channels: #help (general queue), #billing-help (billing queue).")
    say(
        "Customer channel: #acme, shared with Acme Corp over Slack Connect; "
        "its tickets are worked in #support-triage."
    )

    demo.step("1. A question in a watched channel becomes a ticket")
    refund_ts = demo.person_posts(
        "U0ALICE", "C0HELP", "How do I issue a refund for an annual plan?"
    )

    demo.step("2. Slack retries the same event (X-Slack-Retry-Num: 1): nothing is posted twice")
    event = demo.slack.message_event(channel="C0HELP", user="U0ALICE", text="(retry)", ts=refund_ts)
    demo.slack.send_event(event, event_id="EvDEMO-RETRY")
    demo.timed_event(event, event_id="EvDEMO-RETRY", retry_num=1)
    say("   (no new post: the retry found ticket #1)")

    demo.step("3. A message elsewhere gets the :ticket: reaction")
    sso_ts = demo.standin.seed_message(
        "C0SALES", user="U0BOB", text="Globex can't sign in with SSO since this morning"
    )
    say(
        "   Bob (customer success) in #sales-floor: "
        "“Globex can't sign in with SSO since this morning”"
    )
    say("   Dave (sales) reacts :ticket:")
    demo.react("U0DAVE", "ticket", channel="C0SALES", ts=sso_ts, author="U0BOB")

    demo.step("4. /support opens the intake form, which grows for a serious technical issue")
    say("   Carol (billing) types: /support Invoices page shows an error for everyone")
    demo.slack.slash_command(
        user="U0CAROL", channel="C0BILLING", text="Invoices page shows an error for everyone"
    )
    demo.standin.wait_for("views.open")
    demo.report_bot()
    view = list(demo.standin.views.values())[-1]  # the modal Slack just opened
    values: dict[str, dict[str, Any]] = {
        BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("technical_issue")},
        BlockId.PRIORITY: {ActionId.PRIORITY: select_value("urgent")},
        BlockId.PRODUCT: {ActionId.PRODUCT: select_value("Billing")},
        BlockId.DESCRIPTION: {
            ActionId.DESCRIPTION: text_value("Invoices page shows an error for everyone")
        },
    }
    say("   Carol picks Technical issue, priority Urgent")
    demo.slack.block_action(
        user="U0CAROL",
        view=view,
        values=values,
        block_id=BlockId.PRIORITY,
        action_id=ActionId.PRIORITY,
    )
    demo.standin.wait_for("views.update")
    demo.report_bot()
    view = demo.standin.views[view["id"]]
    values[BlockId.USERS_AFFECTED] = {ActionId.USERS_AFFECTED: text_value("lots", "number_input")}
    values[BlockId.SITE_DOWN] = {ActionId.SITE_DOWN: select_value("no")}
    say("   Carol submits with “lots” users affected")
    reply = demo.slack.submit_view(user="U0CAROL", view=view, values=values)
    for field, message in (reply.json() or {}).get("errors", {}).items():
        say(f"   form shows an error under {field}: {message}")
    values[BlockId.USERS_AFFECTED] = {ActionId.USERS_AFFECTED: text_value("250", "number_input")}
    say("   Carol corrects it to 250 and submits")
    demo.slack.submit_view(user="U0CAROL", view=view, values=values)
    demo.deliver()

    demo.step("5. Replies in a ticket's thread join its conversation")
    demo.person_posts(
        "U0ALICE", "C0HELP", "It's for the Initech account, renewed last week.", thread_ts=refund_ts
    )
    demo.person_posts(
        "U0SAM",
        "C0HELP",
        "On it: refunds for annual plans go through billing.",
        thread_ts=refund_ts,
    )

    demo.step("6. Agents claim: Sam with the :eyes: emoji, Priya with the card's Claim button")
    say("   Sam (support agent) reacts :eyes: on Alice's question")
    demo.react("U0SAM", "eyes", channel="C0HELP", ts=refund_ts, author="U0ALICE")
    sso = demo.ticket(2)
    say("   Bob (customer success) presses Claim on the SSO card")
    demo.press("U0BOB", sso, ActionId.CLAIM)
    say("   Priya (support agent) presses Claim on the SSO card")
    demo.press("U0PRIYA", sso, ActionId.CLAIM)

    demo.step("7. Priya tags the SSO ticket and copies customer success, with Edit")
    demo.press("U0PRIYA", demo.ticket(2), ActionId.EDIT)
    demo.standin.wait_for("views.open", count=2)  # the form opens just after the ack
    view = [v for v in demo.standin.views.values() if v["callback_id"] == CallbackId.EDIT_MODAL][-1]
    values = initial_values(view)
    values[BlockId.TAGS] = {ActionId.TAGS: text_value("sso, globex")}
    values[BlockId.DEPARTMENTS] = {
        ActionId.DEPARTMENTS: {
            "type": "multi_static_select",
            "selected_options": [
                {
                    "text": {"type": "plain_text", "text": "Customer success"},
                    "value": "Customer success",
                }
            ],
        }
    }
    say("   Priya adds the tags “sso, globex” and CCs Customer success")
    demo.slack.submit_view(user="U0PRIYA", view=view, values=values)
    demo.deliver()

    demo.step("8. Sam resolves with :white_check_mark:; Alice's reply reopens it")
    demo.react("U0SAM", "white_check_mark", channel="C0HELP", ts=refund_ts, author="U0ALICE")
    demo.person_posts(
        "U0ALICE", "C0HELP", "The refund still shows as pending, though.", thread_ts=refund_ts
    )
    demo.person_posts(
        "U0SAM", "C0HELP", "Pushed it through by hand: it's done now.", thread_ts=refund_ts
    )
    say("   Sam presses Resolve on the card")
    demo.press("U0SAM", demo.ticket(1), ActionId.RESOLVE)
    say("   Priya presses Resolve on the SSO card")
    demo.press("U0PRIYA", demo.ticket(2), ActionId.RESOLVE)

    play_customer_channel(demo)
    play_escalation(demo)
    play_sla(demo)

    demo.step("12. Sam opens the supportbot App Home tab")
    demo.timed_event(demo.slack.app_home_opened(user="U0SAM"))

    demo.step("13. A week later the closing job closes resolved tickets")
    week_later = demo.runtime.desk.clock.now() + timedelta(days=7, minutes=5)
    with demo.runtime.session_factory.begin() as session:
        closed = close_expired(session, demo.runtime.desk, now=week_later)
    say(f"   closed: {', '.join(f'#{n}' for n in closed) or 'none'}")
    demo.deliver()

    play_self_serve(demo)
    play_feature_requests(demo)
    report_tickets(demo)
    play_week(demo)
    play_weekly_digest(demo, charts_dir)


def play_customer_channel(demo: Demo) -> None:
    say = demo.say
    demo.step("9. A customer asks in the shared #acme channel")
    say("   (#acme is shared with Acme Corp: what is marked [customer-visible] is what they see)")
    question = "<!channel> our nightly CSV export has failed since Monday, can anyone look?"
    question_ts = demo.person_posts("U0ACMEJO", "C0ACME", question)
    with demo.runtime.session_factory.begin() as session:
        opened = TicketRepository(session).get_by_source("C0ACME", question_ts)
        assert opened is not None
        ticket_id = opened.id
    ticket = demo.ticket(ticket_id)
    say(
        f"   → Acme sees only the acknowledgement; the card for {ticket.ref} "
        "(the ping quoted as plain text) went to #support-triage."
    )

    demo.person_posts(
        "U0PRIYA",
        "C0TRIAGE",
        "Their export job hit the row limit again; I raised it to 5M, rerunning now.",
        thread_ts=ticket.card_ts,
    )
    with demo.runtime.session_factory.begin() as session:
        notes = len(NoteRepository(session).for_ticket(ticket_id))
    say(f"   → kept as internal note {notes} on {ticket.ref}; the bot sends nothing to #acme")

    say("   Priya presses Reply to customer on the card")
    opened_before = len(demo.standin.calls("views.open"))
    demo.press("U0PRIYA", ticket, ActionId.REPLY)
    demo.standin.wait_for("views.open", count=opened_before + 1)
    demo.report_bot()
    forms = [v for v in demo.standin.views.values() if v["callback_id"] == CallbackId.REPLY_MODAL]
    view = forms[-1]
    answer = "Sorry about that! The export limit is raised and tonight's run will catch up."
    say(f"   Priya types “{answer}” and presses Send to customer")
    demo.slack.submit_view(
        user="U0PRIYA",
        view=view,
        values={BlockId.REPLY: {ActionId.REPLY_INPUT: text_value(answer)}},
    )
    demo.sent_to_customers.append(("U0PRIYA", answer))
    demo.deliver()

    tickets_before = _count_tickets(demo)
    demo.person_posts("U0ACMEJO", "C0ACME", "thanks!", thread_ts=question_ts)
    new = _count_tickets(demo) - tickets_before
    opened_too = "no new ticket" if new == 0 else f"{new} new ticket(s)"
    say(f"   → a pleasantry: copied to the agents' room; {opened_too}, nothing to answer")


def play_escalation(demo: Demo) -> None:
    say = demo.say
    demo.step("10. Escalation: engineering answers in its own thread, and the answers flow back")
    acme = _ticket_from(demo, "C0ACME")
    say(f"   Priya presses Escalate on the triage card of {acme.ref} (Acme's export)")
    view = _open_form(demo, "U0PRIYA", acme, ActionId.ESCALATE, CallbackId.ESCALATE_MODAL)
    values = initial_values(view)
    values[BlockId.SUMMARY] = {ActionId.SUMMARY: text_value("Nightly CSV export fails for Acme")}
    values[BlockId.STEPS] = {
        ActionId.STEPS: text_value("Run the nightly export for an account with >5M rows.")
    }
    values[BlockId.TRIED] = {ActionId.TRIED: text_value("Raised the row limit to 5M; reran.")}
    say("   Priya keeps the target and severity the form suggests, writes a summary and submits")
    demo.slack.submit_view(user="U0PRIYA", view=view, values=values)
    demo.deliver()
    escalation = _escalations(demo, acme.id)[-1]
    demo.person_posts(
        "U0MAX",
        "C0ENG",
        "Found it: the export worker runs out of memory past 4M rows. Fix is deploying now.",
        thread_ts=escalation.card_ts,
    )
    say("   → copied to the agents' room in #support-triage only; #acme sees none of it")

    billing = _ticket_from(demo, "C0BILLING")
    assignee = PEOPLE.get(billing.assignee or "", "nobody")
    say(f"   Sam reacts :rotating_light: on the card of {billing.ref} (Carol's invoices page)")
    demo.react(
        "U0SAM",
        "rotating_light",
        channel=billing.card_channel or "",
        ts=billing.card_ts or "",
        author="U0CAROL",
    )
    escalation = _escalations(demo, billing.id)[-1]
    say(
        "   → its product is Billing, so it went to #eng-billing at once, with the ticket's details"
    )
    say("   Lee (billing engineer) presses Take, then Need info")
    demo.press_escalation("U0LEE", escalation.id, ActionId.ESCALATION_TAKE)
    demo.press_escalation("U0LEE", escalation.id, ActionId.ESCALATION_NEED_INFO)
    demo.person_posts(
        "U0LEE",
        "C0ENGBILL",
        "Which invoice IDs fail? Any from before May?",
        thread_ts=escalation.card_ts,
    )
    say(f"   {assignee} presses Reply to engineering on the card and answers")
    view = _open_form(
        demo,
        billing.assignee or "U0SAM",
        demo.ticket(billing.id),
        ActionId.REPLY_TO_ENGINEERING,
        CallbackId.ENGINEERING_REPLY_MODAL,
    )
    demo.slack.submit_view(
        user=billing.assignee or "U0SAM",
        view=view,
        values={
            BlockId.ENGINEERING_REPLY: {
                ActionId.ENGINEERING_REPLY: text_value("All of them since the 1st, e.g. INV-2291.")
            }
        },
    )
    demo.deliver()
    say("   Lee presses Fixed")
    demo.press_escalation("U0LEE", escalation.id, ActionId.ESCALATION_FIXED)
    billing = demo.ticket(billing.id)
    with demo.runtime.session_factory.begin() as session:
        fixed = EscalationRepository(session).get(escalation.id)
        assert fixed is not None
        times = ", ".join(
            f"{label} {moment:%H:%M:%S}" if moment else f"{label} —"
            for label, moment in (
                ("escalated", fixed.escalated_at),
                ("engineering's first response", fixed.first_response_at),
                ("fixed", fixed.fixed_at),
            )
        )
    say(
        f"   → {billing.ref} is {billing.status} again, with "
        f"{PEOPLE.get(billing.assignee or '', 'nobody')}; kept for the digests: {times} (UTC)"
    )


def play_sla(demo: Demo) -> None:
    say = demo.say
    demo.step("11. SLA: a warning before the breach, the breach, each said once; Ask customer")
    text = "Checkout rejects every card for our biggest account"
    say(f"   Bob types: /support {text}")
    opened_before = len(demo.standin.calls("views.open"))
    demo.slack.slash_command(user="U0BOB", channel="C0HELP", text=text)
    demo.standin.wait_for("views.open", count=opened_before + 1)
    view = list(demo.standin.views.values())[-1]
    say("   Bob picks Question, priority Urgent, and submits")
    demo.slack.submit_view(
        user="U0BOB",
        view=view,
        values={
            BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("question")},
            BlockId.PRIORITY: {ActionId.PRIORITY: select_value("urgent")},
            BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value(text)},
        },
    )
    demo.deliver()
    ticket = demo.ticket(_count_tickets(demo))
    say(f"   {ticket.ref} is urgent, which runs around the clock: {_clock_text(demo, ticket)}")

    later(demo, minutes=12)
    say("   The same minute's sweep on another replica finds the minute claimed; the next one")
    say("   finds nothing new to say:")
    later(demo, minutes=1)
    later(demo, minutes=3)
    say(f"   The card now says: {_clock_text(demo, demo.ticket(ticket.id))}")

    say("   Priya presses Ask customer and asks Bob a question")
    view = _open_form(demo, "U0PRIYA", ticket, ActionId.ASK_CUSTOMER, CallbackId.ASK_MODAL)
    demo.slack.submit_view(
        user="U0PRIYA",
        view=view,
        values={
            BlockId.REPLY: {
                ActionId.REPLY_INPUT: text_value("Which card brands fail: all, or only Amex?")
            }
        },
    )
    demo.deliver()
    asked = demo.ticket(ticket.id)
    say(f"   {asked.ref} is {asked.status}; the card says: {_clock_text(demo, asked)}")
    paused_due = asked.resolution_due_at
    demo.clock.advance(timedelta(minutes=30))
    say("   Thirty minutes later Bob answers in the thread")
    demo.person_posts(
        "U0BOB", "C0HELP", "All of them, since this morning.", thread_ts=asked.card_ts
    )
    resumed = demo.ticket(ticket.id)
    if paused_due and resumed.resolution_due_at:
        moved = resumed.resolution_due_at - paused_due
        say(
            f"   {resumed.ref} is {resumed.status} again; its resolution is due "
            f"{int(moved.total_seconds() // 60)} minutes later than before the question"
        )

    with demo.runtime.session_factory.begin() as session:
        now = demo.runtime.desk.clock.now()
        digest = build_sla_digest(
            session, demo.runtime.desk, since=now - timedelta(days=7), until=now, now=now
        )
    say("   The SLA digest (supportbot digest sla --dry-run) says:")
    say(_indent(sla_digest_message(digest, tz=demo.runtime.desk.config.tz)["text"]))


def later(demo: Demo, *, minutes: int) -> None:
    """Time passes (the desk's clock and Slack's), then the minute's SLA sweep runs."""
    demo.clock.advance(timedelta(minutes=minutes))
    demo.say(f"   … {minutes} minute{'s' if minutes != 1 else ''} later, the SLA sweep runs")
    result = run_sla_sweep(demo.runtime.session_factory, demo.runtime.desk, replica="demo")
    again = run_sla_sweep(demo.runtime.session_factory, demo.runtime.desk, replica="other")
    assert again is None  # the minute is claimed: another replica's sweep does nothing
    if result is not None and not result.alerts:
        demo.say("   (nothing new to say)")
    demo.deliver()


def _clock_text(demo: Demo, ticket: Ticket) -> str:
    """The card's SLA line, as Slack shows it (dates in their fallback form)."""
    card = next(
        (m for m in demo.standin.messages(ticket.card_channel or "") if m["ts"] == ticket.card_ts),
        None,
    )
    for block in (card or {}).get("blocks", []):
        for element in block.get("elements", []):
            words = element.get("text", "")
            if isinstance(words, str) and ("First response" in words or "Resolution" in words):
                return plain_dates(words)
    return "(no SLA line)"


def _ticket_from(demo: Demo, channel: str) -> Ticket:
    with demo.runtime.session_factory.begin() as session:
        found = [r["id"] for r in export_records(session) if r["channel"] == channel]
    return demo.ticket(found[-1])


def _escalations(demo: Demo, ticket_id: int) -> list[Escalation]:
    with demo.runtime.session_factory.begin() as session:
        return EscalationRepository(session).for_ticket(ticket_id)


def _open_form(
    demo: Demo, user: str, ticket: Ticket, action_id: str, callback_id: str
) -> dict[str, Any]:
    """Press a card button that opens a modal, and return the modal Slack opened."""
    opened_before = len(demo.standin.calls("views.open"))
    demo.press(user, ticket, action_id)
    demo.standin.wait_for("views.open", count=opened_before + 1)
    demo.report_bot()
    return [v for v in demo.standin.views.values() if v["callback_id"] == callback_id][-1]


def _count_tickets(demo: Demo) -> int:
    with demo.runtime.session_factory.begin() as session:
        return len(list(export_records(session)))


def check_customer_channel(demo: Demo, channel: str) -> None:
    """Walk everything the customer's channel holds: each message must be the customer's own,
    an acknowledgement, or words an agent chose to send. Anything else is a leak."""
    config = demo.runtime.desk.config
    customer = config.customer_channel(channel)
    assert customer is not None
    with demo.runtime.session_factory.begin() as session:
        tickets = [
            TicketRepository(session).get(record["id"])
            for record in export_records(session)
            if record["channel"] == channel
        ]
        acknowledgements = {
            ticket_notice("acknowledged", ticket=t, config=config, customer_facing=True)["text"]
            for t in tickets
            if t is not None
        }
    replies = {customer_reply(text, agent=agent)["text"] for agent, text in demo.sent_to_customers}
    counts = {"customer": 0, "acknowledgement": 0, "reply": 0, "answers": 0, "shipped": 0}
    leaks: list[str] = []
    for message in demo.standin.messages(channel):
        block_ids = {block.get("block_id") for block in message.get("blocks") or []}
        if not message.get("bot_id") and message.get("user") in CUSTOMER_TEAMS:
            counts["customer"] += 1
        elif message.get("bot_id") and message["text"] in acknowledgements:
            counts["acknowledgement"] += 1
        elif message.get("bot_id") and message["text"] in replies:
            counts["reply"] += 1
        elif message.get("bot_id") and BlockId.KB_SUGGESTION in block_ids:
            counts["answers"] += 1  # knowledge-base passages, the customer's own buttons
        elif message.get("bot_id") and message["text"].startswith(SHIPPED_NEWS):
            counts["shipped"] += 1  # their feature request shipped: the release note
        else:
            leaks.append(message.get("text", ""))
    rest = f"{len(leaks)} other message(s), below" if leaks else "nothing else"
    demo.say(
        f"Everything in #{CHANNELS[channel]}, what {customer.customer} sees: "
        f"{counts['customer']} messages of their own, {counts['acknowledgement']} "
        f"acknowledgement(s), {counts['reply']} reply an agent sent, {counts['answers']} "
        f"knowledge-base answer(s), {counts['shipped']} shipped feature request(s); {rest}."
    )
    for text in leaks:
        demo.say(f"   !! not meant for the customer: {text}")


def play_self_serve(demo: Demo) -> None:
    """Questions the knowledge base answers: one solved by the article, one that still needs an
    agent, who looks something up and sends an article, then saves the answer as a draft."""
    say = demo.say
    demo.step("14. Self-serve answers from the knowledge base")
    say(f"   (the knowledge base: the sample articles shipped in {SAMPLE_KB.name}/, indexed)")
    question = "How do I turn on two-factor authentication for my account?"
    ts = demo.person_posts("U0DAVE", "C0HELP", question)
    ticket = _ticket_from_source(demo, "C0HELP", ts)
    if _press_in_thread(demo, "U0DAVE", "C0HELP", ts, ActionId.SUGGESTION_SOLVED):
        ticket = demo.ticket(ticket.id)
        say(f"   → {ticket.ref} is {ticket.status}: deflected, no agent needed")

    question = "Can we get a refund for the seats we removed from our annual plan last month?"
    ts = demo.person_posts("U0BOB", "C0HELP", question)
    bob = _ticket_from_source(demo, "C0HELP", ts)
    if _press_in_thread(demo, "U0BOB", "C0HELP", ts, ActionId.SUGGESTION_UNHELPFUL):
        say(f"   → recorded as unhelpful; {bob.ref} stays in the queue for an agent")

    say("   Sam looks something up: /support kb api rate limit")
    reply, _ = demo.slack.slash_command(user="U0SAM", channel="C0HELP", text="kb api rate limit")
    answer = reply.json() or {}
    say("   only Sam sees:")
    say(_indent(_card_text(answer)[:600]))

    say(f"   Sam presses Suggest article on {bob.ref}'s card and picks the seats article")
    modal = CallbackId.SUGGEST_ARTICLE_MODAL
    view = _open_form(demo, "U0SAM", demo.ticket(bob.id), ActionId.SUGGEST_ARTICLE, modal)
    values = initial_values(view)
    first = _first_option(view, ActionId.ARTICLE_SELECT, containing="seats")
    if first is not None:
        values[BlockId.ARTICLE] = {ActionId.ARTICLE_SELECT: select_value(first)}
    demo.slack.submit_view(user="U0SAM", view=view, values=values)
    demo.deliver()

    demo.person_posts(
        "U0SAM",
        "C0HELP",
        "Seat reductions are credited pro rata to the next invoice, not refunded.",
        thread_ts=ts,
    )
    say("   Sam presses Resolve, then Save as article")
    demo.press("U0SAM", demo.ticket(bob.id), ActionId.RESOLVE)
    demo.press("U0SAM", demo.ticket(bob.id), ActionId.SAVE_ARTICLE)
    config = demo.runtime.desk.config
    assert config.knowledge_base is not None
    drafts = sorted((Path(config.knowledge_base.path) / "drafts").glob("*.md"))
    for draft in drafts:
        say(f"   draft {draft.relative_to(config.knowledge_base.path)}:")
        say(_indent(draft.read_text(encoding="utf-8")[:400]))


def play_feature_requests(demo: Demo) -> None:
    """Two people ask for the same feature: one card on the board, both told when it ships."""
    say = demo.say
    demo.step("15. Feature requests: one card per distinct request, everyone told when it ships")
    wish = "Dark mode for the dashboard: our reps demo it in dim rooms at night"
    say(f"   Alice (sales) types /support {wish} and picks Feature request")
    before = len(demo.standin.calls("views.open"))
    demo.slack.slash_command(user="U0ALICE", channel="C0HELP", text=wish)
    demo.standin.wait_for("views.open", count=before + 1)
    intake = CallbackId.INTAKE_MODAL
    view = [v for v in demo.standin.views.values() if v["callback_id"] == intake][-1]
    values: dict[str, dict[str, Any]] = {
        BlockId.ISSUE_TYPE: {ActionId.ISSUE_TYPE: select_value("feature_request")},
        BlockId.PRIORITY: {ActionId.PRIORITY: select_value("low")},
        BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value(wish)},
    }
    demo.slack.submit_view(user="U0ALICE", view=view, values=values)
    demo.deliver()

    ask = "Could you add a dark mode to the dashboard? Our night shift finds it far too bright."
    ts = demo.person_posts("U0ACMEJO", "C0ACME", ask)
    jo = _ticket_from_source(demo, "C0ACME", ts)
    say(f"   Priya presses Feature request on the triage card of {jo.ref}")
    demo.press("U0PRIYA", demo.ticket(jo.id), ActionId.MARK_FEATURE_REQUEST)
    room = demo.ticket(jo.id)
    if _press_in_thread(
        demo, "U0PRIYA", room.card_channel or "", room.card_ts or "", ActionId.FEATURE_REQUEST_LINK
    ):
        say("   → Acme Corp's request is linked to the existing card: one request, two asks")

    card = _board_card(demo)
    if card is None:
        say("   !! no card on #product-ideas")
        return
    request_id = _status_value(card).partition(":")[0]
    say("   Pat (product manager) sets the status to Planned")
    demo.slack.press(
        user="U0PAT",
        message=card,
        channel="C0IDEAS",
        action_id=ActionId.FEATURE_REQUEST_STATUS,
        block_id=_block_of(card, ActionId.FEATURE_REQUEST_STATUS),
        selected_value=f"{request_id}:planned",
        action_ts=demo.standin.next_ts(),
    )
    demo.deliver()
    say("   Pat sets it to Shipped and writes the release note")
    before = len(demo.standin.calls("views.open"))
    demo.slack.press(
        user="U0PAT",
        message=_board_card(demo) or card,
        channel="C0IDEAS",
        action_id=ActionId.FEATURE_REQUEST_STATUS,
        block_id=_block_of(card, ActionId.FEATURE_REQUEST_STATUS),
        selected_value=f"{request_id}:shipped",
        action_ts=demo.standin.next_ts(),
    )
    demo.standin.wait_for("views.open", count=before + 1)
    demo.report_bot()
    view = [
        v
        for v in demo.standin.views.values()
        if v["callback_id"] == CallbackId.SHIP_FEATURE_REQUEST_MODAL
    ][-1]
    note = "Dark mode is here: Settings → Appearance → Dark."
    demo.slack.submit_view(
        user="U0PAT",
        view=view,
        values={BlockId.RELEASE_NOTE: {ActionId.RELEASE_NOTE_INPUT: text_value(note)}},
    )
    demo.deliver()


def _press_in_thread(demo: Demo, user: str, channel: str, thread_ts: str, action_id: str) -> bool:
    """Press the latest button `action_id` the bot posted in a thread (False: there is none)."""
    for message in reversed(demo.standin.messages(channel)):
        if message.get("thread_ts") != thread_ts or not message.get("bot_id"):
            continue
        for block in message.get("blocks", []):
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    demo.pause(minutes=2 * ACTION_GAP_MINUTES)  # reading what the bot said
                    say_who = PEOPLE.get(user, user).split(" (")[0]
                    label = element.get("text", {}).get("text", action_id)
                    demo.say(f"   {say_who} presses {label}")
                    demo.slack.press(
                        user=user,
                        message=message,
                        channel=channel,
                        action_id=action_id,
                        value=element.get("value"),
                        block_id=block.get("block_id", ""),
                        action_ts=demo.standin.next_ts(),
                        user_team=CUSTOMER_TEAMS.get(user),
                    )
                    demo.deliver()
                    return True
    demo.say("   (the bot offered nothing to press here)")
    return False


def _first_option(view: dict[str, Any], action_id: str, *, containing: str) -> str | None:
    """The value of the first option whose label has `containing` (else the first option)."""
    options = [
        option
        for block in view.get("blocks", [])
        if (block.get("element") or {}).get("action_id") == action_id
        for group in block["element"].get("option_groups")
        or [{"options": block["element"].get("options", [])}]
        for option in group.get("options", [])
    ]
    chosen = [o for o in options if containing in o["text"]["text"].lower()] or options
    return str(chosen[0]["value"]) if chosen else None


def _board_card(demo: Demo) -> dict[str, Any] | None:
    cards = [m for m in demo.standin.messages("C0IDEAS") if m.get("bot_id")]
    return cards[0] if cards else None


def _block_of(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks", []):
        if any(e.get("action_id") == action_id for e in block.get("elements", [])):
            return str(block.get("block_id", ""))
    return ""


def _status_value(card: dict[str, Any]) -> str:
    for block in card.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == ActionId.FEATURE_REQUEST_STATUS:
                option = element.get("initial_option") or (element.get("options") or [{}])[0]
                return str(option.get("value", ""))
    return ""


def report_tickets(demo: Demo) -> None:
    demo.step("Tickets now in the desk")
    with demo.runtime.session_factory.begin() as session:
        records = list(export_records(session))
        tickets = TicketRepository(session)
        conversation = {r["id"]: len(tickets.conversation(r["id"])) for r in records}
    for record in records:
        demo.say(
            f"   {record['ref']:>4}  {record['status']:<9} {record['priority']:<7} "
            f"queue={record['queue']:<8} requester={PEOPLE.get(record['requester'], '?'):<24} "
            f"assignee={PEOPLE.get(record['assignee'], '—'):<22} "
            f"tags={','.join(record['tags']) or '—':<6} "
            f"first response={record['first_response_at'] or '—'}  "
            f"replies kept={conversation[record['id']]}"
        )
    fastest, slowest = min(demo.latencies), max(demo.latencies)
    demo.say()
    check_customer_channel(demo, "C0ACME")
    demo.say(
        f"Event to card delivered: {fastest * 1000:.0f}–{slowest * 1000:.0f} ms "
        f"over {len(demo.latencies)} Slack events."
    )
    demo.say("Export the same with: supportbot export --format csv")


# The rest of the week: (hour, minute, channel, requester, question, agent, minutes to the first
# answer, minutes to resolve (None: still open), the requester's rating and comment).
WEEK_SCRIPT: tuple[tuple[Any, ...], ...] = (
    (
        10,
        0,
        "C0HELP",
        "U0ALICE",
        "Can I change the billing contact for Initech?",
        "U0SAM",
        12,
        40,
        "extremely_satisfied",
        None,
    ),
    (
        11,
        30,
        "C0BILLING",
        "U0CAROL",
        "Duplicate charge on the Hooli invoice",
        "U0PRIYA",
        25,
        180,
        "satisfied",
        "Quick and clear, thanks",
    ),
    (
        14,
        0,
        "C0HELP",
        "U0DAVE",
        "Export to CSV times out for big accounts",
        "U0SAM",
        95,
        300,
        "unsatisfied",
        "Took most of the day and I had to chase it",
    ),
    (
        15,
        30,
        "C0HELP",
        "U0BOB",
        "How do I add a seat mid-contract?",
        "U0PRIYA",
        8,
        30,
        "extremely_satisfied",
        None,
    ),
)


def play_week(demo: Demo) -> None:
    """The week goes on, fast-forwarded: each working day a few questions arrive, agents answer
    in the thread and resolve, requesters rate; the last question of Friday stays open."""
    say, tz = demo.say, demo.runtime.desk.config.tz
    demo.step("16. The rest of the week, fast-forwarded")
    start = demo.clock.now().astimezone(tz).date()
    for offset in range(1, 7):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            say(f"   {day:%a %d %b}: weekend, nobody asks")
            continue
        script = WEEK_SCRIPT[: 2 + offset % 3]
        opened, answered, resolved, rated = [], [], 0, 0
        before = len(demo.standin.calls("chat.postMessage"))
        for index, (hour, minute, channel, requester, text, agent, *rest) in enumerate(script):
            answer_after, resolve_after, rating, comment = rest
            demo.move_to(datetime.combine(day, clock_time(hour, minute), tz))
            ts = demo.standin.seed_message(channel, user=requester, text=text)
            demo.slack.send_event(
                demo.slack.message_event(channel=channel, user=requester, text=text, ts=ts)
            )
            demo.quietly()
            ticket = _ticket_from_source(demo, channel, ts)
            opened.append(ticket.ref)
            last = offset == 6 or (day.weekday() == 4 and index == len(script) - 1)
            demo.move_to(demo.clock.now() + timedelta(minutes=answer_after))
            reply = demo.standin.seed_message(
                channel, user=agent, text="Looking into it now.", thread_ts=ts
            )
            demo.slack.send_event(
                demo.slack.message_event(
                    channel=channel, user=agent, text="Looking into it.", ts=reply, thread_ts=ts
                )
            )
            demo.quietly()
            answered.append(answer_after)
            if last:
                continue
            demo.move_to(demo.clock.now() + timedelta(minutes=resolve_after - answer_after))
            demo.press(agent, demo.ticket(ticket.id), ActionId.RESOLVE, quiet=True)
            resolved += 1
            rated += rate(demo, demo.ticket(ticket.id), requester, rating, comment)
        lead_dms = sum(
            1
            for call in demo.standin.calls("chat.postMessage")[before:]
            if call.args.get("channel") == "U0PRIYA" and "Low CSAT" in call.args.get("text", "")
        )
        times = ", ".join(f"{m}m" for m in answered)
        say(
            f"   {day:%a %d %b}: {len(opened)} questions ({', '.join(opened)}), answered in "
            f"{times}; {resolved} resolved, {rated} rated"
            + (f"; Priya (lead of general) told of {lead_dms} low rating(s)" if lead_dms else "")
        )


def rate(demo: Demo, ticket: Ticket, requester: str, rating: str, comment: str | None) -> int:
    """The requester answers "How did we do?" in their thread and may add a comment in the
    form it offers, as Slack sends those clicks; 1 when there was a survey to answer."""
    prompt = _survey_message(demo, ticket)
    if prompt is None:
        return 0
    survey_id = int(_survey_buttons(prompt)[ActionId.CSAT_SATISFIED].split(":")[0])
    choice = CsatRating(rating)
    demo.slack.press(
        user=requester,
        message=prompt,
        channel=ticket.source_channel or "",
        action_id=RATING_ACTIONS[choice],
        value=rating_value(survey_id, choice),
        block_id=BlockId.CSAT_RATING,
        action_ts=demo.standin.next_ts(),
    )
    demo.quietly()
    if comment:
        answered = _survey_message(demo, ticket)
        assert answered is not None
        opened = len(demo.standin.calls("views.open"))
        demo.slack.press(
            user=requester,
            message=answered,
            channel=ticket.source_channel or "",
            action_id=ActionId.CSAT_COMMENT,
            value=str(survey_id),
            block_id=BlockId.CSAT_RATING,
            action_ts=demo.standin.next_ts(),
        )
        demo.standin.wait_for("views.open", count=opened + 1)
        view = [
            v
            for v in demo.standin.views.values()
            if v["callback_id"] == CallbackId.CSAT_COMMENT_MODAL
        ][-1]
        values: dict[str, dict[str, Any]] = {
            BlockId.CSAT_COMMENT: {ActionId.CSAT_COMMENT_INPUT: text_value(comment)}
        }
        demo.slack.submit_view(user=requester, view=view, values=values)
        demo.quietly()
    return 1


def _survey_message(demo: Demo, ticket: Ticket) -> dict[str, Any] | None:
    """The "How did we do?" message in the ticket's thread, as it stands."""
    for message in reversed(demo.standin.messages(ticket.source_channel or "")):
        if message.get("thread_ts") == ticket.thread_ts and _survey_buttons(message):
            return message
    return None


def _survey_buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        element["action_id"]: str(element.get("value", ""))
        for block in message.get("blocks", [])
        if block.get("block_id") == BlockId.CSAT_RATING
        for element in block.get("elements", [])
    }


def play_weekly_digest(demo: Demo, charts_dir: Path) -> None:
    """A week after the demo's day, 09:00: the weekly digest of the scripted week is posted
    once, with its charts; the CSAT digest follows."""
    say, desk = demo.say, demo.runtime.desk
    tz = desk.config.tz
    day = demo.clock.now().astimezone(tz).date()
    start = day - timedelta(days=(day.weekday() - desk.config.digests.weekly_weekday) % 7)  # type: ignore[union-attr]
    demo.move_to(datetime.combine(start + timedelta(days=7), clock_time(9), tz))
    demo.step(
        f"17. {demo.clock.now().astimezone(tz):%A %d %b %H:%M}: the weekly digest, with its charts"
    )
    posted = run_weekly_digest(demo.runtime.session_factory, desk, replica="demo")
    again = run_weekly_digest(demo.runtime.session_factory, desk, replica="other")
    assert posted is not None and again is None  # the week is claimed: posted once
    say("   (another replica's job finds the week claimed and posts nothing)")
    run_csat_digest(demo.runtime.session_factory, desk, replica="demo")
    demo.quietly()
    messages = [
        call.args
        for call in demo.standin.calls("chat.postMessage")
        if call.args.get("channel") == "C0MGRS"
    ]
    uploads = demo.standin.uploaded_files()
    say("   bot → #support-managers:")
    for message in messages:
        say(_indent(terminal_text(message)))
        say()
    charts_dir.mkdir(parents=True, exist_ok=True)
    for upload in uploads:
        (charts_dir / upload.filename).write_bytes(upload.content)
    say(
        f"   bot → #support-managers: {len(uploads)} chart(s) uploaded "
        "(files.getUploadURLExternal + files.completeUploadExternal)"
    )
    say(f"Charts written to {charts_dir}: {', '.join(u.filename for u in uploads)}")


def _ticket_from_source(demo: Demo, channel: str, ts: str) -> Ticket:
    with demo.runtime.session_factory.begin() as session:
        ticket = TicketRepository(session).get_by_source(channel, ts)
        assert ticket is not None
        return ticket

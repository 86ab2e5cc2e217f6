"""The `/support` slash command. Bare or with free text it opens the intake modal; `help`, `mine`,
`queue`, `away` and `stats [week|month]` are answered privately in the ack (quick database
reads: the stats are indexed range aggregates); `note #42 <text>` adds an internal note, whose
outcome the outbox tells the agent; `kb <words>` searches the knowledge base for an agent, also
answered privately in the ack (an in-memory ranking).

Only the exact words are subcommands: `/support my invoice is wrong` or `/support queue is stuck`
still opens the form with the text filled in. `note` and `kb` are the subcommands taking words
after them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.deps import Deps
from handlers.views import suggestions_for
from templates.home import build_list_answer, desk_answer
from templates.knowledge import kb_answer, search_answer
from templates.modals import IntakeForm, build_intake_modal
from templates.notices import support_help
from templates.reports import stats_answer
from workflows.deflection import KbRefusal, search_for_agent, suggests_while_typing
from workflows.home import NoteOutcome, list_mine, list_queue, note_by_command, toggle_away
from workflows.intake import encode_modal_context
from workflows.reports import stats_for_agent

logger = logging.getLogger(__name__)

NOTE_REF = re.compile(r"#?(\d+)(?:\s+(.*))?", re.DOTALL)


class Subcommand(StrEnum):
    INTAKE = "intake"  # not a subcommand: the form, with any text as its description
    HELP = "help"
    MINE = "mine"
    QUEUE = "queue"
    AWAY = "away"
    NOTE = "note"
    STATS = "stats"
    KB = "kb"


# Subcommands that are the whole text; with more words after them it is a description.
ALONE = {
    "help": Subcommand.HELP,
    "?": Subcommand.HELP,
    "mine": Subcommand.MINE,
    "queue": Subcommand.QUEUE,
    "away": Subcommand.AWAY,
    "stats": Subcommand.STATS,
    "stats week": Subcommand.STATS,
    "stats month": Subcommand.STATS,
}


@dataclass(frozen=True)
class SupportCommand:
    kind: Subcommand
    user: str
    channel: str
    command: str
    text: str  # intake: the description; note: the note
    ticket_id: int | None = None  # note: the ticket its ref names
    thread_ts: str | None = None  # should Slack send one: the thread the command was typed in


def parse_support_command(command: dict[str, Any]) -> SupportCommand:
    text = (command.get("text") or "").strip()
    first, rest = [*text.split(maxsplit=1), "", ""][:2]
    kind = ALONE.get(" ".join(text.lower().split()), Subcommand.INTAKE)
    ticket_id = None
    if first.lower() == "kb":
        kind = Subcommand.KB
    if first.lower() == "note":
        kind = Subcommand.NOTE
        ref = NOTE_REF.fullmatch(rest)
        if ref:
            ticket_id, rest = int(ref.group(1)), (ref.group(2) or "").strip()
    return SupportCommand(
        kind=kind,
        user=command.get("user_id") or "",
        channel=command.get("channel_id") or "",
        command=command.get("command") or "/support",
        text=rest if kind in (Subcommand.NOTE, Subcommand.STATS, Subcommand.KB) else text,
        ticket_id=ticket_id,
        thread_ts=command.get("thread_ts"),
    )


def register(app: App, deps: Deps) -> None:
    def ack_support(ack: Ack, command: dict[str, Any]) -> None:
        request = parse_support_command(command)
        if request.kind == Subcommand.INTAKE and not command.get("trigger_id"):
            # Without a trigger no form can open: say so rather than fail in the lazy listener.
            logger.warning("/support came without a trigger_id: the form can't open")
            ack(**desk_answer("no_trigger", command=request.command))
        elif request.kind == Subcommand.INTAKE:
            ack()  # the lazy listener opens the form
        elif request.kind == Subcommand.HELP:
            ack(**support_help(request.command, reaction=deps.desk.config.reactions.ticket))
        elif request.kind == Subcommand.KB:
            ack(**search_knowledge_base(request))
        else:
            ack(**answer_subcommand(request, command))

    def answer_subcommand(request: SupportCommand, command: dict[str, Any]) -> dict[str, Any]:
        """What `mine`, `queue`, `away` and `note` say back, privately (an empty ack: nothing).
        A replay of the command (`command`'s trigger) changes nothing."""
        desk, kind = deps.desk, request.kind
        words = {"command": request.command}
        if kind == Subcommand.NOTE and not (
            request.text and (request.ticket_id or request.thread_ts)
        ):
            return desk_answer("note_usage", **words)
        if kind == Subcommand.STATS:
            with deps.reading() as session:
                stats = stats_for_agent(session, desk, request.user, request.text.lower() or "week")
                if stats is None:
                    return desk_answer("stats_not_agent", **words)
                return stats_answer(stats, tz=desk.config.tz)
        with deps.transaction(request=command) as session:
            if kind == Subcommand.MINE:
                return build_list_answer(list_mine(session, desk, request.user), **words)
            if kind == Subcommand.QUEUE:
                queue = list_queue(session, desk, request.user)
                if queue is None:
                    return desk_answer("queue_not_agent", **words)
                return build_list_answer(queue, **words)
            if kind == Subcommand.AWAY:
                away = toggle_away(session, desk, request.user, at=desk.clock.now())
                notice = {None: "away_not_agent", True: "away_on", False: "away_off"}[away]
                return desk_answer(notice, **words)
            outcome = note_by_command(
                session,
                desk,
                actor=request.user,
                text=request.text,
                at=desk.clock.now(),
                channel=request.channel,
                ticket_id=request.ticket_id,
                thread_ts=request.thread_ts,
            )
        if outcome == NoteOutcome.NO_TICKET:
            ref = f"#{request.ticket_id}" if request.ticket_id else "for this thread"
            return desk_answer("note_no_ticket", ref=ref, **words)
        return {}

    def search_knowledge_base(request: SupportCommand) -> dict[str, Any]:
        """`kb <words>`: the best three articles, whatever search's confidence (agents)."""
        query = " ".join(request.text.split())
        if not query:
            return kb_answer("search_usage", command=request.command)
        with deps.reading() as session:
            found = search_for_agent(session, deps.desk, user=request.user, query=query)
        if found == KbRefusal.NOT_AGENT:
            return kb_answer("search_not_agent", command=request.command)
        if isinstance(found, KbRefusal):
            return kb_answer(found.value, command=request.command)
        return search_answer(query=query, matches=[match.as_record() for match in found])

    def open_intake_modal(command: dict[str, Any], client: WebClient) -> None:
        """Runs after the ack (a lazy listener): views.open is the one call that can't wait for the
        outbox, as the trigger expires three seconds after the command."""
        request = parse_support_command(command)
        trigger_id = command.get("trigger_id")
        if request.kind != Subcommand.INTAKE or not trigger_id:
            return  # without a trigger the ack said so already
        form = IntakeForm(
            priority=deps.desk.config.default_priority,
            description=request.text or None,
            suggest=suggests_while_typing(deps.desk),
            suggestions=suggestions_for(deps, request.text),
        )
        view = build_intake_modal(
            form,
            products=deps.desk.config.products,
            private_metadata=encode_modal_context(channel=request.channel),
        )
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            logger.warning("could not open the intake modal: %s", exc.response.get("error"))

    app.command("/support")(ack=ack_support, lazy=[open_intake_modal])

"""Short messages the desk says to one person (ephemeral) or in a thread."""

from __future__ import annotations

from typing import Any

from templates.render import render_message


def already_a_ticket(ref: str) -> dict[str, Any]:
    return render_message("already_a_ticket.json.j2", ref=ref)


def cannot_ticket_bot_message() -> dict[str, Any]:
    return render_message("cannot_ticket_bot_message.json.j2")


def support_help(command: str, *, reaction: str) -> dict[str, Any]:
    return render_message("support_help.json.j2", command=command, reaction=reaction)

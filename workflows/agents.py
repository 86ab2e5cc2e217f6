"""Who the agents are, who is away, and who gets a queue's next ticket.

An agent is listed in `agents:` or is a member of `agent_usergroup` (its members are copied into
the database by a job, so every replica and every request answers the same without calling
Slack). A user from another workspace is never an agent, whatever the lists say.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from storage.repositories import AgentRepository
from workflows.desk import Desk
from workflows.vocabulary import ACTIVE_STATUSES


def is_agent(session: Session, desk: Desk, user: str | None, *, is_external: bool = False) -> bool:
    if not user or is_external:
        return False
    if user in desk.config.agents:
        return True
    group = desk.config.agent_usergroup
    return group is not None and AgentRepository(session).is_usergroup_member(group, user)


def all_agents(session: Session, desk: Desk) -> list[str]:
    """Every agent, config first, in a stable order."""
    agents = list(desk.config.agents)
    group = desk.config.agent_usergroup
    if group:
        agents += sorted(AgentRepository(session).usergroup_members(group) - set(agents))
    return agents


def queue_agents(session: Session, desk: Desk, queue: str) -> list[str]:
    """The agents who work `queue`: its `queues:` entry's list, else every agent."""
    entry = desk.config.queue(queue)
    if entry is not None and entry.agents:
        return list(entry.agents)
    return all_agents(session, desk)


def set_away(session: Session, desk: Desk, user: str, away: bool, *, at: datetime) -> None:
    AgentRepository(session).set_away(user, away, at=at)


def is_away(session: Session, user: str) -> bool:
    return user in AgentRepository(session).away_users()


def refresh_usergroup(
    session: Session, desk: Desk, usergroup_id: str, members: Iterable[str]
) -> None:
    """Slack listed the user group's members: remember them (the job and the
    `subteam_members_changed` event both land here)."""
    AgentRepository(session).replace_usergroup_members(usergroup_id, members, at=desk.clock.now())


def pick_assignee(session: Session, desk: Desk, queue: str, *, at: datetime) -> str | None:
    """The agent a new ticket in `queue` goes to, or None when the queue doesn't auto-assign or
    everyone is away. Round-robin follows the queue's agent list; least-loaded picks whoever holds
    the fewest active tickets (ties in list order)."""
    entry = desk.config.queue(queue)
    if entry is None or entry.auto_assign == "none":
        return None
    agents = AgentRepository(session)
    away = agents.away_users()
    candidates = [user for user in queue_agents(session, desk, queue) if user not in away]
    if not candidates:
        return None
    if entry.auto_assign == "least_loaded":
        load = agents.open_load(candidates, ACTIVE_STATUSES)
        return min(candidates, key=lambda user: (load[user], candidates.index(user)))
    rotation = agents.rotation(queue, at=at)
    order = queue_agents(session, desk, queue)
    start = order.index(rotation.last_agent) + 1 if rotation.last_agent in order else 0
    for step in range(len(order)):
        user = order[(start + step) % len(order)]
        if user in candidates:
            rotation.last_agent = user
            rotation.updated_at = at
            return user
    return None

"""Messages and the modal of the CSAT survey: the prompt (and its answered form), the requester's
comment modal, what someone else pressing it is told, and the lead's low-rating DM.

Pure functions of plain data; every value a person wrote passes through the `mrkdwn` filter."""

from __future__ import annotations

from typing import Any

from templates.ids import ActionId, BlockId, CallbackId
from templates.render import render_message, render_view
from workflows.vocabulary import CSAT_LABELS, CsatRating

# One button per rating, best first (Slack wants the action ids of one block to differ).
RATING_ACTIONS: dict[CsatRating, ActionId] = {
    CsatRating.EXTREMELY_SATISFIED: ActionId.CSAT_EXTREMELY_SATISFIED,
    CsatRating.SATISFIED: ActionId.CSAT_SATISFIED,
    CsatRating.UNSATISFIED: ActionId.CSAT_UNSATISFIED,
    CsatRating.EXTREMELY_UNSATISFIED: ActionId.CSAT_EXTREMELY_UNSATISFIED,
}
# Every id a survey message carries: what a customer channel may hold besides plain text.
SURVEY_ACTIONS = frozenset({*RATING_ACTIONS.values(), ActionId.CSAT_CHANGE, ActionId.CSAT_COMMENT})


def rating_value(survey_id: int, rating: CsatRating) -> str:
    """A rating button's (or menu option's) value: "<survey id>:<rating>"."""
    return f"{survey_id}:{rating.value}"


def csat_message(
    *, survey_id: int, ref: str, rating: str | None, commented: bool = False
) -> dict[str, Any]:
    """The survey as the requester sees it: the four buttons, or the answer they gave."""
    choices = [
        {
            "action_id": str(RATING_ACTIONS[choice]),
            "label": CSAT_LABELS[choice],
            "value": rating_value(survey_id, choice),
        }
        for choice in CsatRating
    ]
    return render_message(
        "csat_prompt.json.j2",
        survey_id=survey_id,
        ref=ref,
        rating=rating,
        rating_label=CSAT_LABELS[CsatRating(rating)] if rating else None,
        commented=commented,
        choices=choices,
        ids={
            "block": str(BlockId.CSAT_RATING),
            "comment": str(ActionId.CSAT_COMMENT),
            "change": str(ActionId.CSAT_CHANGE),
        },
    )


def build_comment_modal(
    *,
    ref: str,
    rating: str | None,
    comment: str | None,
    private_metadata: str,
    max_comment: int,
) -> dict[str, Any]:
    return render_view(
        "csat_comment_modal.json.j2",
        ref=ref,
        rating_label=CSAT_LABELS[CsatRating(rating)] if rating else None,
        comment=comment,
        private_metadata=private_metadata,
        max_comment=max_comment,
        ids={
            "callback": str(CallbackId.CSAT_COMMENT_MODAL),
            "block": str(BlockId.CSAT_COMMENT),
            "action": str(ActionId.CSAT_COMMENT_INPUT),
        },
    )


def csat_notice(notice: str, *, ref: str) -> dict[str, Any]:
    """Why a press on a survey recorded nothing (kinds in csat_notice.json.j2)."""
    return render_message("csat_notice.json.j2", notice=notice, ref=ref)


def csat_alert(
    kind: str,
    *,
    ref: str,
    rating: str,
    comment: str | None,
    requester: str,
    customer: str | None,
    queue: str,
    assignee: str | None,
    permalink: str | None,
) -> dict[str, Any]:
    """The queue lead's DM about a low answer ("rating") or a comment on one ("comment")."""
    return render_message(
        "csat_alert.json.j2",
        kind=kind,
        ref=ref,
        rating_label=CSAT_LABELS[CsatRating(rating)],
        comment=comment,
        requester=requester,
        customer=customer,
        queue=queue,
        assignee=assignee,
        permalink=permalink,
    )

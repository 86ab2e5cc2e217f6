"""Messages and modals of the knowledge base: a suggestion in the requester's thread (and its
answered form), `/support kb`'s private answer, the Suggest article modal, the intake modal's
live suggestions, and what one person is told privately about a knowledge-base action.

Articles are Markdown; Slack reads mrkdwn. `passage_mrkdwn` converts one passage *safely*: the
text is escaped first with the one escaping function (`&`, `<`, `>`: nothing can ping or forge a
link), and only then is Markdown's own syntax — which uses none of those three characters —
turned into Slack's. A link is made only to an http(s) address; any other stays its words.
Pure functions of plain data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from templates.ids import ActionId, BlockId, CallbackId
from templates.mrkdwn import escape_mrkdwn
from templates.render import ELLIPSIS, render_message, render_view

PASSAGE_LIMIT = 700  # characters of a passage shown (cut at a word boundary)
SEARCH_PASSAGE_LIMIT = 400  # `/support kb` shows three at once, privately
MODAL_PASSAGE_LIMIT = 300  # the intake modal's suggestions sit under the form
OPTION_TEXT = 75  # Slack's limit for an option's text and an option group's label
MAX_OPTIONS = 100  # Slack's limit for a select's options, all groups together
MAX_ARTICLE_MESSAGE = 500  # the Suggest article modal's line to the requester

_SAFE_URL = re.compile(r"https?://[^\s|<>\"'`]+")


# --- Markdown to Slack mrkdwn ------------------------------------------------------------------


def cut_passage(text: str, limit: int = PASSAGE_LIMIT) -> str:
    """At most about `limit` characters, cut at a word boundary with an ellipsis; a code block
    left open by the cut is closed again."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit // 2:
        cut = cut[:space]
    cut = cut.rstrip() + ELLIPSIS
    if cut.count("```") % 2:
        cut += "\n```"
    return cut


def passage_mrkdwn(text: str, limit: int = PASSAGE_LIMIT) -> str:
    """A Markdown passage as Slack mrkdwn: escaped first, then **bold**, _italic_, `code`,
    fenced code, [links](https://…), lists, quotes and headings (as bold lines)."""
    lines = escape_mrkdwn(cut_passage(text, limit)).splitlines()
    out: list[str] = []
    fenced = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            out.append("```")
            continue
        if fenced:
            out.append(line)
            continue
        out.append(_block_line(line))
    if fenced:
        out.append("```")
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _block_line(line: str) -> str:
    """One line outside code: its block syntax (heading, list item, quote) and inline syntax."""
    heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
    if heading:
        inner = _inline(heading.group(1)).replace("*", "")
        return f"*{inner}*" if inner else ""
    if re.match(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", line):
        return ""  # a thematic break: Slack has none
    bullet = re.match(r"^(\s*)[-*+]\s+(.*)$", line)
    if bullet:
        indent = "    " * (len(bullet.group(1).expandtabs(4)) // 2)
        return f"{indent}• {_inline(bullet.group(2))}"
    numbered = re.match(r"^(\s*)(\d{1,3})[.)]\s+(.*)$", line)
    if numbered:
        indent = "    " * (len(numbered.group(1).expandtabs(4)) // 2)
        return f"{indent}{numbered.group(2)}. {_inline(numbered.group(3))}"
    # Escaping made a quote's `>` into `&gt;`; at the start of a line it only ever quotes.
    quote = re.match(r"^\s{0,3}(?:&gt;\s?)+(.*)$", line)
    if quote:
        return f">{_inline(quote.group(1))}"
    return _inline(line.strip())


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(
    r"!?\[([^\]\n]*)\]\(\s*((?:[^()\s]|\([^()\s]*\))+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+(?:&amp;[^\s&]+)*)&gt;")
_BARE_URL = re.compile(r"https?://[^\s\x00]+")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def _inline(text: str) -> str:
    """Inline Markdown of one (already escaped) line as mrkdwn. Code spans and links are set
    aside first, so nothing inside them is read as emphasis."""
    kept: list[str] = []

    def keep(piece: str) -> str:
        kept.append(piece)
        return f"\x00{len(kept) - 1}\x00"

    text = _CODE_SPAN.sub(lambda m: keep(f"`{m.group(2).replace('`', '')}`"), text)
    text = _LINK.sub(lambda m: keep(_link(m.group(2), m.group(1))), text)
    text = _AUTOLINK.sub(lambda m: keep(_link(m.group(1), "") or m.group(0)), text)
    text = _BARE_URL.sub(lambda m: keep(m.group(0)), text)  # no emphasis inside an address
    text = _BOLD.sub(lambda m: f"\x01{m.group(2)}\x01", text)
    text = _ITALIC_STAR.sub(r"_\1_", text)
    text = _ITALIC_UNDERSCORE.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = text.replace("\x01", "*")
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _link(url: str, label: str) -> str:
    """A link to an http(s) address; any other address (javascript:, a relative path) is no
    link at all, only its words. `url` and `label` are escaped already."""
    label = re.sub(r"[*_`~]", "", label).strip()
    raw = url.replace("&amp;", "&")
    if not _SAFE_URL.fullmatch(raw):
        return label
    return f"<{url}|{label.replace('|', '¦')}>" if label else f"<{url}>"


def safe_url(url: object) -> str | None:
    """An article's address when it may be linked (http(s), nothing that could end the link)."""
    return url if isinstance(url, str) and _SAFE_URL.fullmatch(url) else None


# --- the suggestion in the requester's thread --------------------------------------------------


def shown_articles(
    articles: Iterable[Mapping[str, Any]], *, limit: int = PASSAGE_LIMIT
) -> list[dict[str, Any]]:
    """Stored article records (`Match.as_record()`) as the templates show them."""
    return [
        {
            "title": str(a.get("title") or a.get("path") or "Article"),
            "url": safe_url(a.get("url")),
            "heading": a.get("heading") if a.get("heading") != a.get("title") else None,
            "passage": passage_mrkdwn(str(a.get("passage") or ""), limit),
            "path": str(a.get("path") or ""),
            "confidence": round(100 * float(a.get("score") or 0)),
        }
        for a in articles
    ]


def suggestion_message(
    *,
    suggestion_id: int,
    articles: Sequence[Mapping[str, Any]],
    outcome: str | None,
    by_agent: bool,
    note: str | None = None,
) -> dict[str, Any]:
    """Articles offered to the requester, with This solved it / I still need help; once
    answered, what their answer means instead of the buttons. Read by customers: nothing
    internal (no queue, no agent, no note)."""
    return render_message(
        "kb_suggestion.json.j2",
        value=str(suggestion_id),
        articles=shown_articles(articles),
        outcome=outcome,
        by_agent=by_agent,
        note=(note or "").strip() or None,
        ids={
            "block": str(BlockId.KB_SUGGESTION),
            "solved": str(ActionId.SUGGESTION_SOLVED),
            "unhelpful": str(ActionId.SUGGESTION_UNHELPFUL),
        },
    )


# --- what one person is told privately ---------------------------------------------------------


def kb_notice(notice: str, **context: Any) -> dict[str, Any]:
    """What one person is told privately about a knowledge-base action (kinds in
    kb_notice.json.j2), through the outbox."""
    values = {"ref": "", "command": "/support", "path": "", "folder": "", "title": "", **context}
    return render_message("kb_notice.json.j2", notice=notice, **values)


def kb_answer(notice: str, **context: Any) -> dict[str, Any]:
    """The same, as a slash command's private answer (its ack's body)."""
    return {"response_type": "ephemeral", **kb_notice(notice, **context)}


def search_answer(*, query: str, matches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`/support kb <query>`: the best articles whatever their confidence, privately."""
    message = render_message(
        "kb_search_answer.json.j2",
        query=query,
        articles=shown_articles(matches, limit=SEARCH_PASSAGE_LIMIT),
    )
    return {"response_type": "ephemeral", **message}


# --- the Suggest article modal -----------------------------------------------------------------


def _option_text(text: str) -> str:
    return text if len(text) <= OPTION_TEXT else text[: OPTION_TEXT - 1].rstrip() + ELLIPSIS


def article_options(
    *,
    ref: str,
    best: Sequence[tuple[int, str]],
    everything: Sequence[tuple[int, str]],
    query: str | None = None,
) -> list[dict[str, Any]]:
    """The picker's option groups: the best matches, then every article by title; at most
    `MAX_OPTIONS` options in all. Values are "<group>:<article id>" (unique across groups)."""
    label = f"Best matches for “{query}”" if query else f"Best matches for {ref}"
    best = list(best)[:5]
    rest = list(everything)[: MAX_OPTIONS - len(best)]
    groups = [(_option_text(label), "best", best), ("All articles", "all", rest)]
    return [
        {
            "label": name,
            "options": [
                {"text": _option_text(title), "value": f"{prefix}:{article_id}"}
                for article_id, title in options
            ],
        }
        for name, prefix, options in groups
        if options  # Slack refuses an empty group
    ]


def parse_article_choice(value: str | None) -> int | None:
    """The article id of a picker option's value ("best:12", "all:12")."""
    found = re.fullmatch(r"(?:best|all):([0-9]{1,9})", value or "")
    return int(found.group(1)) if found else None


def build_suggest_modal(
    *,
    ref: str,
    bridged: bool,
    option_groups: list[dict[str, Any]],
    total: int,
    private_metadata: str,
    query: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    shown = sum(len(group["options"]) for group in option_groups)
    return render_view(
        "kb_suggest_modal.json.j2",
        ref=ref,
        bridged=bridged,
        option_groups=option_groups,
        more=max(0, total - shown) if option_groups else 0,
        query=query,
        message=message,
        private_metadata=private_metadata,
        max_message=MAX_ARTICLE_MESSAGE,
        ids={
            "callback": str(CallbackId.SUGGEST_ARTICLE_MODAL),
            "article_block": str(BlockId.ARTICLE),
            "article_action": str(ActionId.ARTICLE_SELECT),
            "search_block": str(BlockId.ARTICLE_SEARCH),
            "search_action": str(ActionId.ARTICLE_SEARCH_INPUT),
            "message_block": str(BlockId.ARTICLE_MESSAGE),
            "message_action": str(ActionId.ARTICLE_MESSAGE_INPUT),
        },
    )


# --- the intake modal's live suggestions -------------------------------------------------------


def modal_suggestions(matches: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Matches as the intake modal's suggestion block shows them (plain data, in the form)."""
    return shown_articles(matches, limit=MODAL_PASSAGE_LIMIT)


# --- Save as article ---------------------------------------------------------------------------

DRAFT_TITLE = 80


def draft_title(question: str, *, ref: str) -> str:
    """The question's first line, at most `DRAFT_TITLE` characters (cut at a word)."""
    first = next((line.strip() for line in question.splitlines() if line.strip()), "")
    first = first.lstrip("#>*-• ").strip()
    if len(first) > DRAFT_TITLE:
        cut = first[: DRAFT_TITLE - 1]
        space = cut.rfind(" ")
        first = (cut[:space] if space > DRAFT_TITLE // 2 else cut).rstrip(" ,.;:") + ELLIPSIS
    return first or f"Answer from ticket {ref}"


def article_draft(*, ref: str, question: str, answers: Sequence[str], tags: Sequence[str]) -> str:
    """A draft article (Markdown with front matter) made of a resolved ticket: its question and
    the answers its requester read. `draft: true` keeps it out of suggestions until an agent
    has edited and published it."""
    front = yaml.safe_dump(
        {
            "title": draft_title(question, ref=ref),
            "tags": list(tags),
            "draft": True,
            "source": ref,
        },
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=1000,
    )
    answer = "\n\n".join(text.strip() for text in answers if text.strip())
    body = [
        "---",
        front.strip(),
        "---",
        "",
        "## Question",
        "",
        question.strip() or "(The ticket had no description.)",
        "",
        "## Answer",
        "",
        answer or "(No answer was written in the requester's thread: write it here.)",
        "",
    ]
    return "\n".join(body)

"""Rendering of Block Kit and message text from Jinja2 templates, and Slack's size limits.

Templates are JSON with Jinja2 in it. Every interpolated value goes through `mrkdwn` (the escape
function) or `tojson`; `tests/test_templates.py` fails on any `{{ ... }}` that uses neither. Limits
(characters per text, blocks per message or view) are enforced here and nowhere else.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from templates.mrkdwn import escape_mrkdwn

TEMPLATE_DIR = Path(__file__).parent

MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_TEXT = 2000
MAX_MESSAGE_TEXT = 40000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_PLAIN_INPUT = 3000
ELLIPSIS = "…"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["mrkdwn"] = escape_mrkdwn
    env.filters["truncate_text"] = truncate
    env.filters["blockquote"] = blockquote
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never splitting an escape like `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def blockquote(text: str) -> str:
    """Quote every line, so a multi-line question reads as one quotation in Slack."""
    return "\n".join(f">{line}" for line in text.splitlines()) if text else text


def render_json(template: str, **context: Any) -> Any:
    source = environment().get_template(template).render(**context)
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:  # a template bug, never user input: say where
        raise ValueError(f"{template} rendered invalid JSON: {exc}") from exc


def render_message(template: str, **context: Any) -> dict[str, Any]:
    """A message payload `{"text": ..., "blocks": [...]}` within Slack's limits."""
    message = render_json(template, **context)
    message["text"] = truncate(message.get("text", "").strip(), MAX_MESSAGE_TEXT)
    if "blocks" in message:
        message["blocks"] = fit_blocks(message["blocks"], MAX_MESSAGE_BLOCKS)
    return message


def render_view(template: str, **context: Any) -> dict[str, Any]:
    view = render_json(template, **context)
    view["blocks"] = fit_blocks(view["blocks"], MAX_VIEW_BLOCKS)
    return view


def fit_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> list[dict[str, Any]]:
    fitted = [_fit_block(block) for block in blocks]
    if len(fitted) > max_blocks:
        more = {"type": "context", "elements": [{"type": "mrkdwn", "text": "(more not shown)"}]}
        fitted = [*fitted[: max_blocks - 1], more]
    return fitted


def _fit_block(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "section":
        if "text" in block:
            block["text"]["text"] = truncate(block["text"]["text"], MAX_SECTION_TEXT)
        for field in block.get("fields", []):
            field["text"] = truncate(field["text"], MAX_FIELD_TEXT)
        block["fields"] = block.get("fields", [])[:10] or None
        if block["fields"] is None:
            del block["fields"]
    elif kind == "context":
        for element in block.get("elements", []):
            if "text" in element:
                element["text"] = truncate(element["text"], MAX_CONTEXT_TEXT)
    return block


def plain_dates(text: str) -> str:
    """Slack dates shown by their fallback, for a terminal (`digest --dry-run`, the demo)."""
    return re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)


def terminal_text(message: dict[str, Any]) -> str:
    """A message's blocks as terminal text (`digest --dry-run`, the demo): headers, sections with
    their fields, and context lines; Slack dates shown by their fallback."""
    parts: list[str] = []
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            parts.append(f"{title}\n{'=' * len(title)}")
        elif kind == "section":
            lines = [block["text"]["text"]] if block.get("text") else []
            lines += [
                f"  {field['text']}".replace("\n", ": ", 1) for field in block.get("fields", [])
            ]
            parts.append("\n".join(lines))
        elif kind == "context":
            parts.append(" ".join(e.get("text", "") for e in block.get("elements", [])))
    text = "\n\n".join(part for part in parts if part.strip())
    return plain_dates(text or str(message.get("text", "")))

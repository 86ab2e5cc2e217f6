"""Text from Slack made storable: NUL bytes dropped and lone surrogates replaced, everywhere.

PostgreSQL refuses NUL in text, and a lone surrogate (`"\\ud800"` is valid JSON) can't be encoded
as UTF-8 by either database's driver; both can arrive in a correctly signed request. Cleaning
happens once, where a request enters the desk (the inbox, and the interactive requests' middleware).
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def clean_json(value: Any) -> Any:
    """The same JSON value with every string (keys too) cleaned; depth is checked beforehand."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    return value


def clean_in_place(body: dict[str, Any]) -> None:
    """Clean a parsed request body that others already hold a reference to (Bolt's)."""
    cleaned = clean_json(body)
    body.clear()
    body.update(cleaned)


def nesting_depth(value: Any, *, limit: int) -> int:
    """How deep objects and lists nest, counted without recursion and stopping past `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return deepest

"""Recognise messages that need no support agent: thanks, acknowledgements and bare emoji.

People close conversations with "thanks!", "ok 👍" or ":tada:"; opening a ticket for each of those
wastes an agent's time. Anything with content beyond stock phrases ("thanks, but it still fails"),
a link, or a bare ping at someone is treated as actionable, because a missed request costs more
than a needless ticket.

Pure and stdlib-only: the desk passes the raw Slack mrkdwn text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

DEFAULT_PLEASANTRIES: tuple[str, ...] = (
    # Thanks.
    "thanks",
    "thank you",
    "thank u",
    "thanks a lot",
    "thanks so much",
    "thank you so much",
    "thank you very much",
    "many thanks",
    "thanks again",
    "thanks for the help",
    "thanks for your help",
    "thx",
    "ty",
    "tysm",
    "tyvm",
    "cheers",
    "much appreciated",
    "appreciate it",
    "appreciated",
    # Acknowledgement.
    "ok",
    "okay",
    "k",
    "kk",
    "got it",
    "gotcha",
    "noted",
    "understood",
    "will do",
    "sure",
    "yes thanks",
    "sounds good",
    "all good",
    "that works",
    # Approval.
    "great",
    "cool",
    "perfect",
    "awesome",
    "nice",
    "excellent",
    "brilliant",
    "great thanks",
    # Replies to someone else's thanks.
    "np",
    "no problem",
    "no worries",
    "you're welcome",
    "welcome",
)
"""Lowercase phrases; a message made only of these (in any order and number) is a pleasantry.
Deliberately absent: words that can be a whole question or request on their own, such as "help",
"no", "yes", "hi" and "hello"."""

MAX_NORMALISED_CHARS = 200
"""Longer messages carry content even if every word is a phrase, and it bounds the work done."""

# `<@U1>`, `<#C1|name>`, `<!here>`, `<!subteam^S1>`, `<https://x|label>`, `<mailto:a@b>`.
_ANGLE_TOKEN = re.compile(r"<([^<>]*)>")
# `:tada:`, `:+1:`, `:thumbsup::skin-tone-2:` (two adjacent codes).
_SHORTCODE = re.compile(r":[a-z0-9_+'-]+:", re.IGNORECASE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})
# Format characters (ZWJ U+200D, tag characters of flag sequences) and enclosing marks (keycap).
_DROPPED_CATEGORIES = frozenset({"Cf", "Me"})


def _is_variation_selector(char: str) -> bool:
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _words(text: str) -> list[str]:
    """Plain lowercase words of `text` with emoji, symbols, punctuation and apostrophes gone.

    Applied to messages and phrases alike, so "you’re", "you're" and "youre" compare equal.
    Symbols become spaces (so "thanks🙏ok" is two words); apostrophes vanish (so "you're" is one).
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).replace("'", "")
    text = _SHORTCODE.sub(" ", text)
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        # P*: punctuation. S* (So/Sk/Sm/Sc): emoji, skin-tone modifiers, regional indicators,
        # markdown markers like ` and ~. None of them can turn a message into content.
        if category[0] in "PS" or category in _DROPPED_CATEGORIES or _is_variation_selector(char):
            kept.append(" ")
        else:
            kept.append(char)
    return "".join(kept).casefold().split()


def _segments(words: list[str], phrases: set[tuple[str, ...]]) -> bool:
    """Whether `words` is a concatenation of `phrases` (DP over word positions)."""
    longest = max(len(phrase) for phrase in phrases)
    reachable = [False] * (len(words) + 1)
    reachable[0] = True
    for end in range(1, len(words) + 1):
        for size in range(1, min(longest, end) + 1):
            if reachable[end - size] and tuple(words[end - size : end]) in phrases:
                reachable[end] = True
                break
    return reachable[-1]


def is_pleasantry(text: str, phrases: Iterable[str] = DEFAULT_PLEASANTRIES) -> bool:
    """True when the message says nothing a support agent must act on: only emoji, or only
    pleasantry phrases (in any combination, with punctuation and emoji around them).

    An empty `phrases` switches the filter off (always False). A message containing a link is
    never a pleasantry (the link is content), nor is a bare mention with nothing else to say
    (someone is pinging for attention); "thanks <@U1>" is one.
    """
    phrase_list = tuple(phrases)
    if not phrase_list:
        return False

    had_mention = False
    had_link = False

    def strip_token(match: re.Match[str]) -> str:
        nonlocal had_mention, had_link
        if match.group(1)[:1] in ("@", "#", "!"):
            had_mention = True
        else:
            had_link = True
        return " "

    text = _ANGLE_TOKEN.sub(strip_token, text)
    if had_link:
        return False
    # Slack escapes these three in message text; undo it so "&amp;" is not read as a word.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    words = _words(text)
    if not words:
        return not had_mention
    if len(" ".join(words)) > MAX_NORMALISED_CHARS:
        return False

    known = {tuple(phrase_words) for phrase in phrase_list if (phrase_words := _words(phrase))}
    return bool(known) and _segments(words, known)

"""Pleasantry filter: thanks, acknowledgements and bare emoji open no ticket; anything with
content (a question, a "but", a link, a bare ping) still does."""

from __future__ import annotations

import pytest

from workflows.pleasantries import DEFAULT_PLEASANTRIES, MAX_NORMALISED_CHARS, is_pleasantry


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "ok",
        "thank you so much :pray:",
        "👍",
        ":tada: :tada:",
        "ty!!",
        "Ok, thanks",
        "THANKS",
        "Thank You So Much",
        "ok thanks",
        "thanks ok cool",
        "thanks thanks thanks",
        "great, thanks! :raised_hands:",
        "got it, will do",
        "no problem",
        "no worries :)",
        "you're welcome",
        "you’re welcome",  # curly apostrophe
        "You‘re welcome",
        "sounds good 👌",
        "*thanks*",
        "_ok_ ~cool~",
        "thank-you",
        "thanks…",
        "...",
        "?!",
        "",
        "   ",
        "\n",
    ],
)
def test_pleasantries_open_no_ticket(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, but it still fails",
        "ok so how do I export?",
        "no",
        "help",
        "yes",
        "hi",
        "hello",
        "hi thanks",
        "thanks 2",
        "ok?? still broken",
        "thanks &amp; one more thing",
        "thanksss",
    ],
)
def test_messages_with_content_open_a_ticket(text: str) -> None:
    assert not is_pleasantry(text)


@pytest.mark.parametrize(
    "text",
    [
        ":thumbsup::skin-tone-2:",
        ":+1::skin-tone-6: thanks",
        "thanks :thumbsup::skin-tone-3:",
        "👍🏽",
        "🙏",
        "🙏🏿 thanks",
        "👩‍💻",  # ZWJ sequence
        "👨‍👩‍👧‍👦 ok",
        "❤️",  # heart + variation selector U+FE0F
        "☺️ thx",
        "🇬🇧",  # regional indicators
        "#️⃣",  # keycap sequence
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # tag sequence flag
        "thanks🙏ok",
        "✅ noted",
    ],
)
def test_emoji_of_every_kind_are_ignored(text: str) -> None:
    assert is_pleasantry(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks!!! 🙏 <@U123>", True),
        ("<@U123> thanks", True),
        ("<#C1|general> ok", True),
        ("<!here> thanks all", False),  # "all" alone is not a phrase
        ("<!here> thanks", True),
        ("<!subteam^S1|@support> cheers", True),
        ("<@U123>", False),
        ("<@U123> <@U456>", False),
        ("<@U123> 👍", False),
        ("<!here>", False),
        ("<!subteam^S1>", False),
        ("<#C1|general>", False),
        ("<https://example.com>", False),
        ("<https://example.com|thanks>", False),
        ("<mailto:a@example.com|a@example.com>", False),
        ("thanks <https://example.com/log.txt>", False),
        ("<@U123> can you look at this?", False),
    ],
)
def test_mentions_and_links(text: str, expected: bool) -> None:
    assert is_pleasantry(text) is expected


def test_empty_phrase_list_switches_the_filter_off() -> None:
    assert not is_pleasantry("thanks", ())
    assert not is_pleasantry("👍", ())
    assert not is_pleasantry("", [])


def test_custom_phrases_replace_the_defaults() -> None:
    phrases = ["merci", "Danke Schön", "dank je wel", "You’re A Star"]
    assert is_pleasantry("Merci!", phrases)
    assert is_pleasantry("danke schön 🙏 merci", phrases)
    assert is_pleasantry("Dank je wel :pray:", phrases)
    assert is_pleasantry("you're a star", phrases)
    assert not is_pleasantry("thanks", phrases)
    assert not is_pleasantry("danke", phrases)
    # Emoji-only is still a pleasantry whenever the filter is on.
    assert is_pleasantry(":tada:", phrases)


def test_phrases_may_be_any_iterable() -> None:
    assert is_pleasantry("ok thanks", (phrase for phrase in ["ok", "thanks"]))


def test_phrases_that_normalise_to_nothing_match_no_words() -> None:
    assert not is_pleasantry("thanks", ["👍", "!!"])
    assert is_pleasantry("👍", ["👍"])


def test_long_messages_are_never_pleasantries() -> None:
    long_text = " ".join(["thanks"] * (MAX_NORMALISED_CHARS // len("thanks ") + 1))
    assert len(long_text) > MAX_NORMALISED_CHARS
    assert not is_pleasantry(long_text)
    short_text = " ".join(["thanks"] * 20)
    assert len(short_text) <= MAX_NORMALISED_CHARS
    assert is_pleasantry(short_text)


def test_long_emoji_only_messages_are_still_pleasantries() -> None:
    assert is_pleasantry(":tada: " * 200)


def test_multi_word_phrases_segment_with_single_words() -> None:
    assert is_pleasantry("thank you ok thanks a lot cool")
    assert is_pleasantry("great thanks")
    # "thank" on its own is not a phrase; "a lot" neither.
    assert not is_pleasantry("thank")
    assert not is_pleasantry("thanks a")


def test_default_list_is_lowercase_and_excludes_question_words() -> None:
    assert all(phrase == phrase.lower() for phrase in DEFAULT_PLEASANTRIES)
    assert len(set(DEFAULT_PLEASANTRIES)) == len(DEFAULT_PLEASANTRIES)
    for word in ("help", "no", "yes", "hi", "hello"):
        assert word not in DEFAULT_PLEASANTRIES

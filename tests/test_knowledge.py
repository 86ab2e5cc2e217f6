"""The knowledge base: articles read from Markdown files, split into passages, indexed into the
database (SQLite, and PostgreSQL when configured), searched with BM25, kept in line with the
folder by `serve`'s watcher; and the quality of search on the shipped sample knowledge base,
measured against tests/kb_questions.yml (see bench/kb_ranking.py for the full sweep)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, event

from bot.config import DEFAULT_SUGGEST_THRESHOLD, DeskConfig, parse_config
from bot.runtime import build_runtime
from bot.scheduler import build_scheduler
from bot.standin import SlackStandin
from storage.db import SessionFactory, create_session_factory
from storage.knowledge import KnowledgeRepository
from storage.models import KbArticle
from tests.conftest import PROJECT_ROOT, SIGNING_SECRET, TEST_CONFIG, run_together
from workflows.clock import ManualClock
from workflows.desk import Desk
from workflows.knowledge import (
    PASSAGE_CHARS,
    STOP_WORDS,
    Article,
    ArticleProblem,
    FolderMissing,
    KnowledgeIndex,
    Tokenizer,
    fingerprint,
    parse_article,
    read_folder,
    refresh_if_changed,
    reindex,
    split_passages,
)

NOW = datetime(2026, 11, 23, 15, tzinfo=UTC)
SAMPLE_KB = PROJECT_ROOT / "bot" / "sample_kb"
QUESTIONS = PROJECT_ROOT / "tests" / "kb_questions.yml"

REFUNDS = """---
title: Refunds
tags: [billing, money back]
url: https://help.example.com/refunds
---

## Annual plans

Annual plans get a full refund within 30 days of the renewal.

## Monthly plans

Monthly charges are not refunded for a partial month.
"""
SSO = """---
title: Single sign-on with Okta
tags: login, sso, saml
---

## Setting it up

Add the Orbit app in the Okta admin console and paste the metadata URL into Orbit.
"""
PASSWORD = """# Resetting your password

Click "Forgot password?" on the sign-in page and open the link we email you.
"""


def article(path: str, text: str | bytes) -> Article:
    parsed = parse_article(path, text.encode() if isinstance(text, str) else text)
    assert isinstance(parsed, Article), parsed
    return parsed


def problem(path: str, text: str | bytes) -> str:
    parsed = parse_article(path, text.encode() if isinstance(text, str) else text)
    assert isinstance(parsed, ArticleProblem), parsed
    return parsed.problem


def write(folder: Path, name: str, text: str | bytes) -> Path:
    """Write a file, and move its modification time on, as an editor saving it later would
    (two writes within the file system's clock tick would look the same to a fingerprint)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    later = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(later, later))
    return path


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    write(folder, "billing/refunds.md", REFUNDS)
    write(folder, "sso.md", SSO)
    write(folder, "password.md", PASSWORD)
    return folder


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    return create_session_factory(engine)


def index_folder(sessions: SessionFactory, folder: Path, now: datetime = NOW) -> Any:
    with sessions.begin() as session:
        return reindex(session, folder, now=now)


def indexed(sessions: SessionFactory) -> dict[str, KbArticle]:
    with sessions() as session:
        return KnowledgeRepository(session).articles_by_path()


def search(sessions: SessionFactory, index: KnowledgeIndex, query: str, limit: int = 3) -> Any:
    with sessions() as session:
        return index.search(session, query, limit=limit)


# --- reading an article --------------------------------------------------------------------------


def test_title_comes_from_front_matter_then_first_heading_then_file_name() -> None:
    assert article("a.md", "---\ntitle: From front matter\n---\n# Heading\n\nText").title == (
        "From front matter"
    )
    from_heading = article("a.md", "\n# The heading\n\nSome text.\n")
    assert from_heading.title == "The heading"
    assert "The heading" not in from_heading.body  # the title is the article's, not a section
    assert article("sub/getting_started-guide.md", "Just text.").title == "Getting started guide"
    # A second-level heading is a section's, not a title.
    assert article("faq.md", "## A section\n\nText").title == "Faq"


def test_tags_are_a_list_or_a_comma_separated_string() -> None:
    assert article("a.md", "---\ntags: [billing, refunds]\n---\nText").tags == (
        "billing",
        "refunds",
    )
    assert article("a.md", "---\ntags: billing, money back ,\n---\nText").tags == (
        "billing",
        "money back",
    )
    assert article("a.md", "---\ntags:\n---\nText").tags == ()
    assert problem("a.md", "---\ntags: {a: 1}\n---\nText") == "tags must be a list of words"


def test_front_matter_problems_are_reported_not_raised() -> None:
    assert problem("a.md", "---\ntitle: [unclosed\n---\nText").startswith(
        "front matter is not valid YAML"
    )
    assert problem("a.md", "---\n- a\n- b\n---\nText").startswith("front matter must be keys")
    assert problem("a.md", "---\nurl: ftp://files.example.com/a\n---\nText") == (
        "url must be an http(s) address"
    )
    assert problem("a.md", "---\nurl: 42\n---\nText") == "url must be an http(s) address"
    assert article("a.md", "---\nurl: https://help.example.com/a\n---\nText").url == (
        "https://help.example.com/a"
    )
    assert article("a.md", "Text").url is None


def test_encoding_and_empty_files() -> None:
    assert problem("a.md", "Café".encode("latin-1")) == "not UTF-8 text"
    with_bom = article("a.md", b"\xef\xbb\xbf---\ntitle: With a BOM\n---\nText")
    assert with_bom.title == "With a BOM"
    assert problem("a.md", b"") == "has no text"
    assert problem("a.md", "---\ntitle: Only a title\n---\n\n") == "has no text"
    assert problem("a.md", "# Only a title\n") == "has no text"


def test_the_checksum_follows_the_bytes() -> None:
    assert article("a.md", "Text").checksum == article("b.md", "Text").checksum
    assert article("a.md", "Text").checksum != article("a.md", "Text.").checksum


def test_read_folder_skips_drafts_hidden_files_and_other_files(tmp_path: Path) -> None:
    write(tmp_path, "kept.md", "Kept.")
    write(tmp_path, "sub/also-kept.md", "Also kept.")
    write(tmp_path, "draft-flag.md", "---\ndraft: true\n---\nNot yet.")
    write(tmp_path, "drafts/saved-from-ticket.md", "A draft from a ticket.")
    write(tmp_path, ".hidden.md", "Hidden.")
    write(tmp_path, ".git/x.md", "Hidden folder.")
    write(tmp_path, "notes.txt", "Not Markdown.")
    write(tmp_path, "broken.md", b"\xff\xfe")
    write(tmp_path, "huge.md", "x" * (512 * 1024 + 1))
    articles, problems = read_folder(tmp_path)
    assert sorted(a.path for a in articles) == ["kept.md", "sub/also-kept.md"]
    assert sorted((p.path, p.problem) for p in problems) == [
        ("broken.md", "not UTF-8 text"),
        ("huge.md", "larger than 512 KB"),
    ]


# --- passages ------------------------------------------------------------------------------------


def test_sections_become_passages_under_their_headings() -> None:
    body = "Intro text.\n\n## First\n\nOne.\n\nTwo.\n\n### Deeper\n\nThree.\n\n## Empty\n\n"
    passages = list(split_passages(body, title="T"))
    assert [(p.heading, p.text) for p in passages] == [
        (None, "Intro text."),
        ("First", "One.\n\nTwo."),
        ("Deeper", "Three."),
    ]


def test_long_sections_are_cut_between_paragraphs() -> None:
    paragraphs = [f"Paragraph {n}: " + "word " * 40 for n in range(12)]
    body = "## Long\n\n" + "\n\n".join(paragraphs)
    passages = list(split_passages(body, title="T"))
    assert len(passages) > 1
    assert all(p.heading == "Long" for p in passages)
    assert all(len(p.text) <= PASSAGE_CHARS + 10 for p in passages)
    # Nothing lost, nothing cut mid-paragraph.
    assert [q.strip() for p in passages for q in p.text.split("\n\n")] == [
        p.strip() for p in paragraphs
    ]


def test_code_fences_stay_whole() -> None:
    fence = "```sh\n# not a heading\n\ncurl https://api.example.com\n\n\necho done\n```"
    body = "## Calling the API\n\n" + "Before. " * 80 + "\n\n" + fence + "\n\nAfter."
    passages = list(split_passages(body, title="T"))
    holding = [p for p in passages if "```sh" in p.text]
    assert len(holding) == 1 and fence in holding[0].text
    assert all(p.heading == "Calling the API" for p in passages)


# --- reindex -------------------------------------------------------------------------------------


def test_reindex_adds_updates_removes_and_leaves_the_rest(
    sessions: SessionFactory, kb: Path
) -> None:
    first = index_folder(sessions, kb)
    assert sorted(first.added) == ["billing/refunds.md", "password.md", "sso.md"]
    assert (first.updated, first.removed, first.unchanged, first.problems) == ((), (), 0, ())
    assert first.changed and first.version == 1
    rows = indexed(sessions)
    refunds = rows["billing/refunds.md"]
    assert refunds.title == "Refunds" and refunds.tags == ["billing", "money back"]
    assert refunds.url == "https://help.example.com/refunds"
    assert [p.heading for p in refunds.passages] == ["Annual plans", "Monthly plans"]
    assert rows["sso.md"].tags == ["login", "sso", "saml"]

    again = index_folder(sessions, kb, NOW + timedelta(minutes=1))
    assert (again.added, again.updated, again.removed, again.unchanged) == ((), (), (), 3)
    assert not again.changed and again.version == 1  # nothing changed: no new version

    write(kb, "sso.md", SSO.replace("Okta admin console", "Okta Admin Console"))
    (kb / "password.md").unlink()
    write(kb, "status.md", "# Status\n\nSee status.example.com.")
    third = index_folder(sessions, kb, NOW + timedelta(minutes=2))
    assert (third.added, third.updated, third.removed, third.unchanged) == (
        ("status.md",),
        ("sso.md",),
        ("password.md",),
        1,
    )
    assert third.version == 2
    rows = indexed(sessions)
    assert sorted(rows) == ["billing/refunds.md", "sso.md", "status.md"]
    assert "Okta Admin Console" in rows["sso.md"].passages[0].text
    assert rows["sso.md"].indexed_at == NOW + timedelta(minutes=2)
    assert rows["billing/refunds.md"].indexed_at == NOW  # not rewritten


def test_a_file_that_breaks_keeps_its_last_good_version(sessions: SessionFactory, kb: Path) -> None:
    index_folder(sessions, kb)
    write(kb, "sso.md", "---\ntitle: [half saved\n---\nText")
    write(kb, "password.md", b"\xff\xfe\x00broken")
    report = index_folder(sessions, kb)
    assert sorted(p.path for p in report.problems) == ["password.md", "sso.md"]
    assert (report.added, report.updated, report.removed) == ((), (), ())
    assert report.version == 1
    rows = indexed(sessions)
    assert rows["sso.md"].title == "Single sign-on with Okta"
    assert rows["password.md"].title == "Resetting your password"

    # Fixed: it is updated; made a draft: it goes.
    write(kb, "sso.md", SSO + "\nAlso: Okta groups.\n")
    write(kb, "password.md", "---\ndraft: true\n---\n" + PASSWORD)
    report = index_folder(sessions, kb)
    assert (report.updated, report.removed, report.problems) == (
        ("sso.md",),
        ("password.md",),
        (),
    )


def test_a_missing_folder_raises_and_keeps_the_index(
    sessions: SessionFactory, kb: Path, tmp_path: Path
) -> None:
    index_folder(sessions, kb)
    with pytest.raises(FolderMissing):
        index_folder(sessions, tmp_path / "typo")
    assert len(indexed(sessions)) == 3


def test_an_emptied_folder_empties_the_index(sessions: SessionFactory, kb: Path) -> None:
    index_folder(sessions, kb)
    for file in kb.rglob("*.md"):
        file.unlink()
    report = index_folder(sessions, kb)
    assert len(report.removed) == 3 and report.version == 2
    assert indexed(sessions) == {}


def test_fingerprint_moves_with_files_not_with_their_place(tmp_path: Path, kb: Path) -> None:
    before = fingerprint(kb)
    assert fingerprint(kb) == before
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for file in kb.rglob("*.md"):
        target = copy / file.relative_to(kb)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.read_bytes())
        stat = file.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint(copy) == before  # another replica's mount of the same files
    write(kb, "sso.md", SSO + "more")
    assert fingerprint(kb) != before
    write(kb, "drafts/new.md", "A draft.")
    after_draft = fingerprint(kb)
    assert after_draft == fingerprint(kb)
    (kb / "password.md").unlink()
    assert fingerprint(kb) != after_draft


# --- search --------------------------------------------------------------------------------------


def test_tokenizer_stems_and_drops_stop_words_and_contractions() -> None:
    tokenize = Tokenizer()
    assert tokenize("Refunding refunds, refunded!") == ["refund"] * 3
    assert tokenize("What's the way? We're sure it didn't, isn't it") == ["way", "sure"]
    assert tokenize("E-mail emails") == ["email", "email"]
    assert tokenize("login / logging in / sign-in / signed in") == ["sign"] * 4
    assert tokenize("2FA and SSO setup") == ["2fa", "sso", "set"]
    assert tokenize("Hi team, quick question please, thanks!") == []
    assert {"the", "how", "what", "didn't", "didnt"} <= STOP_WORDS


def test_search_finds_by_stem_and_ignores_stop_words(sessions: SessionFactory, kb: Path) -> None:
    index_folder(sessions, kb)
    index = KnowledgeIndex()
    [best, *_] = search(sessions, index, "refunding")
    assert best.path == "billing/refunds.md"
    assert best.title == "Refunds" and best.url == "https://help.example.com/refunds"
    plain = search(sessions, index, "refund annual")
    wrapped = search(sessions, index, "Hi! How do I do a refund for an annual, please?")
    assert [(m.path, m.heading, m.confidence) for m in plain][:1] == [
        (m.path, m.heading, m.confidence) for m in wrapped
    ][:1]
    assert plain[0].heading == "Annual plans"
    assert search(sessions, index, "how do I do that, please?") == []
    assert search(sessions, index, "") == []
    assert search(sessions, index, "zebra giraffe") == []


def test_words_the_knowledge_base_never_uses_lower_the_confidence(
    sessions: SessionFactory, kb: Path
) -> None:
    index_folder(sessions, kb)
    index = KnowledgeIndex()
    sure = search(sessions, index, "refund annual plan")[0]
    unsure = search(sessions, index, "refund annual plan for the flight to the offsite")[0]
    assert sure.path == unsure.path == "billing/refunds.md"
    assert 0 < unsure.confidence < sure.confidence <= 1


def test_matches_are_one_per_article_best_first(sessions: SessionFactory, kb: Path) -> None:
    index_folder(sessions, kb)
    index = KnowledgeIndex()
    matches = search(sessions, index, "okta password reset link refund")
    assert len({m.article_id for m in matches}) == len(matches) == 3
    assert [m.confidence for m in matches] == sorted((m.confidence for m in matches), reverse=True)
    assert all(0 <= m.confidence <= 1 for m in matches)
    assert len(search(sessions, index, "okta password reset link refund", limit=1)) == 1
    record = matches[0].as_record()
    assert set(record) == {"article_id", "path", "title", "url", "heading", "passage", "score"}
    assert record["score"] == round(matches[0].confidence, 4)


def test_an_empty_knowledge_base_finds_nothing(sessions: SessionFactory, tmp_path: Path) -> None:
    index = KnowledgeIndex()
    assert search(sessions, index, "refund") == []  # never indexed
    index_folder(sessions, tmp_path)  # an empty folder
    assert search(sessions, index, "refund") == []
    with sessions() as session:
        assert index.articles(session) == []


def test_each_process_rebuilds_its_ranking_when_another_reindexes(
    sessions: SessionFactory, kb: Path
) -> None:
    """Two processes, each with its own in-memory ranking: an edit indexed by one (or by a
    `kb reindex` from a shell) reaches the other's next search."""
    index_folder(sessions, kb)
    here, there = KnowledgeIndex(), KnowledgeIndex()
    assert search(sessions, here, "webhooks")[:1] == []
    assert search(sessions, there, "webhooks")[:1] == []
    built = there._ranking

    index_folder(sessions, kb)  # nothing changed: the rankings stay as they are
    search(sessions, there, "refund")
    assert there._ranking is built

    write(kb, "webhooks.md", "# Webhooks\n\nWebhooks send events to your server.")
    index_folder(sessions, kb)
    assert search(sessions, there, "webhooks")[0].path == "webhooks.md"
    assert search(sessions, here, "webhooks")[0].path == "webhooks.md"
    with sessions() as session:
        assert [path for _, path, _ in here.articles(session)] == [
            "billing/refunds.md",
            "password.md",
            "sso.md",
            "webhooks.md",
        ]


# --- the shipped knowledge base and the quality of search ----------------------------------------

# Measured with bench/kb_ranking.py when the threshold was chosen (see README): precision@1
# 76/87 = 87.4%; at the default threshold 0.27, 43/87 answerable questions covered (49%), 2 of
# 45 suggestions wrong (4.4%), 1 of 38 unanswerable questions given one. The floors and ceiling
# leave two or three questions of slack, so a regression fails and noise doesn't.
MIN_PRECISION_AT_1 = 0.85
MIN_COVERAGE = 0.46
MAX_FALSE_SUGGESTION_RATE = 0.10


def test_the_sample_knowledge_base_indexes_cleanly(sessions: SessionFactory) -> None:
    report = index_folder(sessions, SAMPLE_KB)
    assert report.problems == ()
    assert 20 <= len(report.added) <= 25
    for row in indexed(sessions).values():
        assert row.url and row.url.startswith("https://help.example.com/"), row.path
        assert row.tags and len(row.passages) >= 2, row.path


def test_the_demo_question_finds_the_refunds_article(sessions: SessionFactory) -> None:
    index_folder(sessions, SAMPLE_KB)
    [best, *_] = search(sessions, KnowledgeIndex(), "How do I issue a refund for an annual plan?")
    assert best.path == "billing-refunds.md"
    assert best.confidence >= DEFAULT_SUGGEST_THRESHOLD


def test_search_quality_on_the_sample_knowledge_base(sessions: SessionFactory) -> None:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    answerable = [(q["q"], q["article"]) for q in questions["answerable"]]
    unanswerable = [(q["q"], None) for q in questions["unanswerable"]]
    assert len(answerable) >= 50 and len(unanswerable) >= 25
    assert {path for _, path in answerable} <= {p.name for p in SAMPLE_KB.glob("*.md")}
    index_folder(sessions, SAMPLE_KB)
    index = KnowledgeIndex()
    right = covered = made = wrong = 0
    for question, expected in answerable + unanswerable:
        matches = search(sessions, index, question, limit=1)
        top = matches[0] if matches else None
        is_right = top is not None and top.path == expected
        right += is_right
        if top is not None and top.confidence >= DEFAULT_SUGGEST_THRESHOLD:
            made += 1
            covered += is_right
            wrong += not is_right
    assert right / len(answerable) >= MIN_PRECISION_AT_1
    assert covered / len(answerable) >= MIN_COVERAGE
    assert wrong / made <= MAX_FALSE_SUGGESTION_RATE


# --- serve keeps the index in line with the folder -----------------------------------------------


def desk_for(folder: Path) -> Desk:
    config = parse_config({**TEST_CONFIG, "knowledge_base": {"path": str(folder)}})
    return Desk(config=config, clock=ManualClock(NOW))


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement.strip().split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


WRITES = {"INSERT", "UPDATE", "DELETE"}


def test_the_watcher_reindexes_only_when_the_folder_changed(
    sessions: SessionFactory, kb: Path, statements: list[str]
) -> None:
    desk = desk_for(kb)
    first = refresh_if_changed(sessions, desk)
    assert first is not None and len(first.added) == 3

    statements.clear()
    assert refresh_if_changed(sessions, desk) is None
    assert statements == []  # nothing changed: not even a query

    write(kb, "sso.md", SSO + "\nAlso: Okta groups.\n")
    desk.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    edited = refresh_if_changed(sessions, desk)
    assert edited is not None and edited.updated == ("sso.md",) and edited.version == 2
    assert "Okta groups" in indexed(sessions)["sso.md"].passages[0].text
    assert search(sessions, desk.knowledge, "okta groups")[0].path == "sso.md"


def test_another_replica_finds_the_work_done(
    sessions: SessionFactory, kb: Path, statements: list[str]
) -> None:
    refresh_if_changed(sessions, desk_for(kb))
    statements.clear()
    assert refresh_if_changed(sessions, desk_for(kb)) is None  # a second replica starting
    assert not WRITES & set(statements)


def test_replicas_noticing_an_edit_together_index_it_once(
    sessions: SessionFactory, kb: Path
) -> None:
    """Both look at the same moment, on an empty database (the index's row doesn't exist yet):
    one indexes, the other waits for the index's lock and finds the work done."""
    results = run_together(
        lambda: refresh_if_changed(sessions, desk_for(kb)),
        lambda: refresh_if_changed(sessions, desk_for(kb)),
    )
    done = [r for r in results if r is not None]
    assert len(done) == 1 and len(done[0].added) == 3 and done[0].version == 1
    write(kb, "sso.md", SSO + "\nEdited.\n")
    reports = run_together(lambda: index_folder(sessions, kb), lambda: index_folder(sessions, kb))
    assert sorted((r.updated, r.unchanged) for r in reports) == [((), 3), (("sso.md",), 2)]
    assert {r.version for r in reports} == {2}
    assert len(indexed(sessions)) == 3


def test_replicas_with_different_copies_do_not_undo_each_other(
    sessions: SessionFactory, kb: Path, tmp_path: Path
) -> None:
    """A rolling deploy: the new replica indexes its newer copy; the old one, whose folder did
    not change, leaves it alone instead of putting its own copy back every 30 seconds."""
    old = desk_for(kb)
    refresh_if_changed(sessions, old)
    newer = tmp_path / "newer"
    newer.mkdir()
    write(newer, "sso.md", SSO + "\nNew in this release.\n")
    report = refresh_if_changed(sessions, desk_for(newer))
    assert report is not None and report.removed and report.updated == ("sso.md",)
    assert refresh_if_changed(sessions, old) is None
    assert list(indexed(sessions)) == ["sso.md"]


def test_a_missing_folder_is_logged_once_and_the_index_kept(
    sessions: SessionFactory, kb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = desk_for(kb)
    refresh_if_changed(sessions, desk)
    moved = kb.with_name("kb-moved")
    kb.rename(moved)
    with caplog.at_level(logging.WARNING, logger="workflows.knowledge"):
        for _ in range(3):
            assert refresh_if_changed(sessions, desk) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "does not exist" in warnings[0].getMessage()
    assert len(indexed(sessions)) == 3

    moved.rename(kb)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="workflows.knowledge"):
        assert refresh_if_changed(sessions, desk) is None  # back, and unchanged
        kb.rename(moved)
        refresh_if_changed(sessions, desk)  # gone again: a new problem, said again
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_a_broken_file_is_logged_once(
    sessions: SessionFactory, kb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = desk_for(kb)
    refresh_if_changed(sessions, desk)
    with caplog.at_level(logging.WARNING, logger="workflows.knowledge"):
        write(kb, "sso.md", "---\ntitle: [half saved\n---\n")
        assert refresh_if_changed(sessions, desk) is not None
        write(kb, "password.md", PASSWORD + "\nMore.\n")  # another edit; sso.md still broken
        assert refresh_if_changed(sessions, desk) is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("knowledge base: sso.md: front matter")


def test_no_knowledge_base_configured_means_nothing_to_watch(
    sessions: SessionFactory, desk_config: DeskConfig
) -> None:
    assert refresh_if_changed(sessions, Desk(config=desk_config, clock=ManualClock(NOW))) is None


@pytest.mark.parametrize("configured", [True, False])
def test_serve_schedules_the_watcher_when_a_knowledge_base_is_configured(
    engine: Engine, standin: SlackStandin, kb: Path, configured: bool, clock: ManualClock
) -> None:
    config = desk_for(kb).config if configured else parse_config(TEST_CONFIG)
    runtime = build_runtime(
        config=config,
        clock=clock,
        database_url=str(engine.url),
        api_url=standin.url,
        bot_token="xoxb-standin",
        signing_secret=SIGNING_SECRET,
        engine=engine,
    )
    try:
        job = build_scheduler(runtime).get_job("kb-refresh")
        if not configured:
            assert job is None
            return
        assert job is not None
        assert job.trigger.interval == timedelta(seconds=30)
        assert job.next_run_time is not None  # runs at start too
        job.func(*job.args)
        assert len(indexed(runtime.session_factory)) == 3
    finally:
        runtime.dispatcher.stop()

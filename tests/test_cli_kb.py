"""`supportbot kb reindex` as an operator runs it (`app.main`, with the environment an operator
sets): counts on success, one line per file it could not read (exit 1), a clear message when
there is no knowledge base to read (exit 2); never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import app
from storage.db import create_db_engine, create_session_factory
from storage.knowledge import KnowledgeRepository

CONFIG = """
timezone: America/New_York
agents: [U0AGENT1]
intake:
  - channel: C0HELP
    queue: general
"""
REFUNDS = (
    "---\ntitle: Refunds\ntags: [billing]\n---\n\n## Annual plans\n\nFull refund in 30 days.\n"
)
PASSWORD = "# Resetting your password\n\nClick Forgot password? on the sign-in page.\n"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An operator's folder: the config file, its `kb` folder next to it, the database; run
    from somewhere else (a relative `knowledge_base.path` is the config's neighbour)."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "SUPPORTBOT_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    (tmp_path / "supportbot.yml").write_text(CONFIG + "knowledge_base:\n  path: kb\n")
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "refunds.md").write_text(REFUNDS)
    (kb / "password.md").write_text(PASSWORD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(tmp_path / "supportbot.yml"))
    monkeypatch.setenv("DATABASE_URL", database_url(tmp_path))
    return tmp_path


def database_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'desk.db'}"


def reindex(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = app.main(["kb", "reindex"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def indexed_titles(folder: Path) -> list[str]:
    engine = create_db_engine(database_url(folder))
    try:
        with create_session_factory(engine)() as session:
            return [title for _, _, title in KnowledgeRepository(session).article_titles()]
    finally:
        engine.dispose()


def test_reindex_prints_what_it_did(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = reindex(capsys)
    assert (code, err) == (0, "")
    assert out == (
        f"knowledge base {folder / 'kb'}: 2 article(s) indexed "
        "(2 added, 0 updated, 0 removed, 0 unchanged)\n"
    )
    assert indexed_titles(folder) == ["Refunds", "Resetting your password"]

    (folder / "kb" / "password.md").unlink()
    code, out, err = reindex(capsys)
    assert (code, err) == (0, "")
    assert "1 article(s) indexed (0 added, 0 updated, 1 removed, 1 unchanged)" in out


def test_files_it_cannot_read_are_listed_one_a_line(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = folder / "kb"
    (kb / "broken.md").write_text("---\ntitle: [unclosed\n---\nText")
    (kb / "latin1.md").write_bytes("Café".encode("latin-1"))
    (kb / "empty.md").write_text("")
    code, out, err = reindex(capsys)
    assert code == app.EXIT_PROBLEMS
    assert "2 article(s) indexed (2 added" in out  # the good ones are indexed all the same
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("broken.md: front matter is not valid YAML")
    assert lines[1:] == ["empty.md: has no text", "latin1.md: not UTF-8 text"]


def test_no_knowledge_base_configured(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "supportbot.yml").write_text(CONFIG)
    code, out, err = reindex(capsys)
    assert (code, out) == (app.EXIT_BAD_CONFIG, "")
    assert err.startswith(f"error: {folder / 'supportbot.yml'} has no knowledge_base")
    assert len(err.splitlines()) == 1


def test_missing_folder(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "supportbot.yml").write_text(CONFIG + "knowledge_base:\n  path: kb-typo\n")
    code, out, err = reindex(capsys)
    assert (code, out) == (app.EXIT_BAD_CONFIG, "")
    assert err == f"error: knowledge_base.path: folder {folder / 'kb-typo'} does not exist\n"


def test_an_unusable_database_is_one_line_too(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'no-such-folder' / 'desk.db'}")
    code, out, err = reindex(capsys)
    assert (code, out) == (app.EXIT_PROBLEMS, "")
    assert err.startswith("error: could not index the knowledge base: ")
    assert len(err.splitlines()) == 1

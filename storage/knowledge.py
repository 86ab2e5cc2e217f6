"""The knowledge base's tables: indexed articles, their passages, the index's state, and the
answers offered to requesters.

`KnowledgeRepository` holds every query the knowledge base makes, `SuggestionRepository` those of
the suggestions. It flushes, never commits: the
one commit is the caller's (`kb reindex`, the watcher job, a handler's unit of work).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import KbArticle, KbIndexState, KbPassage, KbSuggestion
from storage.repositories import _insert_once

INDEX_NAME = "kb"


@dataclass(frozen=True)
class IndexedPassage:
    """A passage with what search needs of its article, as ranking reads them."""

    article_id: int
    path: str
    title: str
    url: str | None
    tags: tuple[str, ...]
    heading: str | None
    text: str


@dataclass(frozen=True)
class ArticleFields:
    """What an article's row holds, as read from its file."""

    title: str
    url: str | None
    tags: tuple[str, ...]
    body: str
    checksum: str
    passages: tuple[tuple[str | None, str], ...]  # (heading, text), in order


class KnowledgeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the index's state ---------------------------------------------------------------------

    def version(self) -> int:
        """The index's version, read from the database every time (never the session's copy):
        another process may have reindexed since."""
        query = select(KbIndexState.version).where(KbIndexState.name == INDEX_NAME)
        return self.session.scalars(query).first() or 0

    def fingerprint(self) -> str | None:
        """The folder's fingerprint when it was last indexed (None: never indexed)."""
        query = select(KbIndexState.fingerprint).where(KbIndexState.name == INDEX_NAME)
        return self.session.scalars(query).first()

    def lock_index(self, *, now: datetime) -> KbIndexState:
        """The index's state row, created if needed and locked until the transaction ends, so
        that replicas noticing the same edit reindex one after the other (the second finds the
        work done) instead of inserting the same articles side by side. SQLite's `BEGIN
        IMMEDIATE` serialises writers anyway."""
        state = self._locked_state()
        if state is None:
            _insert_once(
                self.session,
                KbIndexState(name=INDEX_NAME, version=0, fingerprint="", indexed_at=now),
            )
            state = self._locked_state()
        assert state is not None
        return state

    def record_index(self, *, fingerprint: str, changed: bool, now: datetime) -> int:
        """Note a reindex of the folder as it looked (`fingerprint`); the version moves only when
        an article changed, so processes rebuild their ranking only then. The new version."""
        state = self.lock_index(now=now)
        if changed:
            state.version += 1
        state.fingerprint, state.indexed_at = fingerprint, now
        self.session.flush()
        return state.version

    def _locked_state(self) -> KbIndexState | None:
        query = (
            select(KbIndexState)
            .where(KbIndexState.name == INDEX_NAME)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(query).one_or_none()

    # --- articles ------------------------------------------------------------------------------

    def articles_by_path(self) -> dict[str, KbArticle]:
        """Every indexed article with its passages, by path: what a reindex compares with."""
        query = select(KbArticle).options(selectinload(KbArticle.passages))
        return {article.path: article for article in self.session.scalars(query)}

    def add_article(self, path: str, fields: ArticleFields, *, now: datetime) -> KbArticle:
        article = KbArticle(path=path)
        self.session.add(article)
        self.write_article(article, fields, now=now)
        return article

    def write_article(self, article: KbArticle, fields: ArticleFields, *, now: datetime) -> None:
        """Replace what `article` says (and all its passages) with `fields`."""
        article.title, article.url, article.tags = fields.title, fields.url, list(fields.tags)
        article.body, article.checksum, article.indexed_at = fields.body, fields.checksum, now
        article.passages.clear()
        self.session.flush()  # the old passages go before the new ones take their positions
        article.passages.extend(
            KbPassage(position=position, heading=heading, text=text)
            for position, (heading, text) in enumerate(fields.passages)
        )
        self.session.flush()

    def remove_articles(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        if paths:
            self.session.execute(delete(KbArticle).where(KbArticle.path.in_(paths)))
            self.session.flush()

    def passages(self) -> list[IndexedPassage]:
        """Every passage with its article's title, url and tags, in a stable order (by path,
        then position): what each process ranks in memory."""
        rows = self.session.execute(
            select(
                KbPassage.article_id,
                KbArticle.path,
                KbArticle.title,
                KbArticle.url,
                KbArticle.tags,
                KbPassage.heading,
                KbPassage.text,
            )
            .join(KbArticle, KbArticle.id == KbPassage.article_id)
            .order_by(KbArticle.path, KbPassage.position)
        ).all()
        return [
            IndexedPassage(
                article_id=article_id,
                path=path,
                title=title,
                url=url,
                tags=tuple(tags or ()),
                heading=heading,
                text=text,
            )
            for article_id, path, title, url, tags, heading, text in rows
        ]

    def article_titles(self) -> Sequence[tuple[int, str, str]]:
        """Every indexed article as (id, path, title), by title then path: for pickers."""
        rows = self.session.execute(select(KbArticle.id, KbArticle.path, KbArticle.title)).all()
        return sorted(((r[0], r[1], r[2]) for r in rows), key=lambda r: (r[2].lower(), r[1]))


class SuggestionRepository:
    """Knowledge-base answers offered to requesters, and what they said of them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, suggestion_id: int) -> KbSuggestion | None:
        return self.session.get(KbSuggestion, suggestion_id) if suggestion_id else None

    def article(self, article_id: int) -> KbArticle | None:
        return self.session.get(KbArticle, article_id)

    def add(self, suggestion: KbSuggestion) -> KbSuggestion:
        self.session.add(suggestion)
        self.session.flush()
        return suggestion

    def bot_offered(self, ticket_id: int) -> bool:
        """Whether the bot already offered answers for this ticket (one offer per question)."""
        found = self.session.scalars(
            select(KbSuggestion.id)
            .where(KbSuggestion.ticket_id == ticket_id, KbSuggestion.suggested_by.is_(None))
            .limit(1)
        ).first()
        return found is not None

    def answer(self, suggestion: KbSuggestion, *, outcome: str, by: str, at: datetime) -> bool:
        """One conditional UPDATE: only an unanswered suggestion takes a verdict, so a double
        click or a retried request (even on another replica) finds it answered and changes
        nothing. Afterwards `suggestion` shows what is now true."""
        result = self.session.execute(
            update(KbSuggestion)
            .where(KbSuggestion.id == suggestion.id, KbSuggestion.outcome.is_(None))
            .values(outcome=outcome, answered_by=by, answered_at=at)
            .execution_options(synchronize_session=False)
        )
        self.session.refresh(suggestion)
        return bool(getattr(result, "rowcount", 0))

"""The knowledge base: Markdown articles in a folder, indexed into the database, searched with BM25.

An article is a Markdown file with optional YAML front matter (`title`, `tags`, `url`, `draft`).
Its sections (a heading and the paragraphs under it, cut to passages of a few paragraphs) are what
search ranks and what a suggestion quotes, so a requester reads the answer itself, not a link.

`reindex` reads the folder into `kb_articles` / `kb_passages` (only files whose checksum changed
are rewritten) and bumps the index's `version` when anything changed. Each process keeps its
ranking in memory (`KnowledgeIndex`, one per desk) and rebuilds it when that version moves, so a
`supportbot kb reindex` run from a shell, or another replica noticing an edited file, reaches every
replica on its next search.

Ranking is Okapi BM25 (`rank_bm25`, with Lucene's idf) over stemmed words (Snowball English,
`snowballstemmer`) without stop words. A BM25 score has no scale of its own (it grows with the
query's length and the corpus' vocabulary), so what is compared with the desk's threshold is the
score's share of the best score the query could get: every one of its words, saturated, in a
passage of average length (`confidence`, from 0 to 1). Words the knowledge base never uses count
in that best score too: a question mostly about something else is not sure of an answer, however
well one word matches.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from storage.models import KbArticle, KbIndexState, KbPassage

logger = logging.getLogger(__name__)

INDEX_NAME = "kb"
DRAFTS_FOLDER = "drafts"  # Save as article writes here; drafts are never suggested
MAX_ARTICLE_BYTES = 512 * 1024
PASSAGE_CHARS = 700  # paragraphs are gathered into passages up to about this size
MAX_TITLE = 300

# English words that carry no meaning for search, plus the courtesies questions come wrapped in.
_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves
    hi hello hey thanks thank please pls cheers team anyone someone somebody help know need want
    get got also still would could us let lets i'm im i've ive it's dont don't cant can't
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


class Tokenizer:
    """Words as search compares them: lower case, no stop words, Snowball-stemmed ("refunds",
    "refunding" and "refunded" are one word). Stemming is cached per word; guarded by a lock, as
    the stemmer object is not thread-safe."""

    def __init__(self) -> None:
        self._stem = _stemmer()
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        words = [w.replace("’", "'") for w in _WORD.findall(text.lower())]
        kept = [w for w in words if w not in STOP_WORDS]
        with self._lock:
            out = []
            for word in kept:
                stem = self._cache.get(word)
                if stem is None:
                    stem = self._stem.stemWord(word.split("'")[0])
                    self._cache[word] = stem
                out.append(stem)
        return out


# --- articles, from files ----------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    heading: str | None
    text: str


@dataclass(frozen=True)
class Article:
    path: str  # relative to the knowledge-base folder, with forward slashes
    title: str
    url: str | None
    tags: tuple[str, ...]
    body: str
    passages: tuple[Passage, ...]
    checksum: str
    draft: bool = False


@dataclass(frozen=True)
class ArticleProblem:
    path: str
    problem: str


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")


def parse_article(path: str, raw: bytes) -> Article | ArticleProblem:
    """An article from a file's bytes, or what is wrong with it (said to whoever reindexes)."""
    checksum = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ArticleProblem(path, "not UTF-8 text")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            return ArticleProblem(path, f"front matter is not valid YAML ({_first_line(exc)})")
        if loaded is not None and not isinstance(loaded, dict):
            return ArticleProblem(path, "front matter must be keys (title: …, tags: […])")
        meta = loaded or {}
        text = text[match.end() :]
    title = meta.get("title")
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        heading = _HEADING.match(lines[first].strip())
        if heading and len(heading.group(1)) == 1:
            title = title or heading.group(2)
            lines = lines[first + 1 :]  # the title is the article's, not a section's
    title = str(title or Path(path).stem.replace("-", " ").replace("_", " ").capitalize()).strip()
    tags = meta.get("tags") or ()
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str | int) for t in tags):
        return ArticleProblem(path, "tags must be a list of words")
    url = meta.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"https?://\S+$", url)):
        return ArticleProblem(path, "url must be an http(s) address")
    body = "\n".join(lines).strip()
    passages = tuple(split_passages(body, title=title))
    if not passages:
        return ArticleProblem(path, "has no text")
    return Article(
        path=path,
        title=title[:MAX_TITLE],
        url=url,
        tags=tuple(str(t).strip() for t in tags if str(t).strip()),
        body=body,
        passages=passages,
        checksum=checksum,
        draft=bool(meta.get("draft")),
    )


def split_passages(body: str, *, title: str) -> Iterable[Passage]:
    """Sections under their headings, cut between paragraphs into passages of about
    `PASSAGE_CHARS` (a list or a code block stays whole)."""
    heading: str | None = None
    paragraphs: list[str] = []
    current: list[str] = []
    fenced = False

    def end_paragraph() -> None:
        if current:
            paragraphs.append("\n".join(current).strip())
            current.clear()

    def end_section() -> Iterable[Passage]:
        end_paragraph()
        chunk: list[str] = []
        for paragraph in [p for p in paragraphs if p]:
            if chunk and sum(len(p) for p in chunk) + len(paragraph) > PASSAGE_CHARS:
                yield Passage(heading, "\n\n".join(chunk))
                chunk = []
            chunk.append(paragraph)
        if chunk:
            yield Passage(heading, "\n\n".join(chunk))
        paragraphs.clear()

    for line in body.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            current.append(line)
            continue
        found = None if fenced else _HEADING.match(line.strip())
        if found:
            yield from end_section()
            heading = found.group(2).strip()
        elif not line.strip() and not fenced:
            end_paragraph()
        else:
            current.append(line)
    yield from end_section()


def read_folder(folder: Path) -> tuple[list[Article], list[ArticleProblem]]:
    """Every article of the folder (its subfolders too, but not drafts, hidden files or
    `draft: true` articles), and the files that could not be read."""
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    for file in _markdown_files(folder):
        relative = file.relative_to(folder).as_posix()
        try:
            if file.stat().st_size > MAX_ARTICLE_BYTES:
                problems.append(ArticleProblem(relative, "larger than 512 KB"))
                continue
            raw = file.read_bytes()
        except OSError as exc:
            problems.append(ArticleProblem(relative, f"cannot be read ({exc.strerror or exc})"))
            continue
        parsed = parse_article(relative, raw)
        if isinstance(parsed, ArticleProblem):
            problems.append(parsed)
        elif not parsed.draft:
            articles.append(parsed)
    return articles, problems


def fingerprint(folder: Path) -> str:
    """What the folder looks like (names, sizes, modification times): cheap to take every few
    seconds, and it changes when a file is added, edited, renamed or removed."""
    digest = hashlib.sha256()
    for file in _markdown_files(folder):
        try:
            stat = file.stat()
        except OSError:
            continue
        digest.update(f"{file.as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _markdown_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = []
    for file in folder.rglob("*.md"):
        parts = file.relative_to(folder).parts
        if any(part.startswith(".") for part in parts) or parts[0] == DRAFTS_FOLDER:
            continue
        if file.is_file():
            found.append(file)
    return sorted(found)


# --- the index, in the database ----------------------------------------------------------------


@dataclass(frozen=True)
class ReindexReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    problems: tuple[ArticleProblem, ...] = ()
    version: int = 0
    missing_folder: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    @property
    def articles(self) -> int:
        return len(self.added) + len(self.updated) + self.unchanged


class FolderMissing(Exception):
    """The configured knowledge-base folder does not exist (a typo in `knowledge_base.path`)."""


def reindex(session: Session, folder: Path, *, now: datetime) -> ReindexReport:
    """Bring the database's index in line with the folder. A file that can't be read keeps its
    last good version indexed (a half-saved edit never removes an answer); a deleted file's
    article goes. Raises FolderMissing when the folder isn't there."""
    if not folder.is_dir():
        raise FolderMissing(str(folder))
    print_ = fingerprint(folder)
    articles, problems = read_folder(folder)
    existing = {
        a.path: a
        for a in session.scalars(select(KbArticle).options(selectinload(KbArticle.passages)))
    }
    added, updated = [], []
    unchanged = 0
    for article in articles:
        row = existing.pop(article.path, None)
        if row is not None and row.checksum == article.checksum:
            unchanged += 1
            continue
        if row is None:
            row = KbArticle(path=article.path)
            session.add(row)
            added.append(article.path)
        else:
            updated.append(article.path)
        row.title, row.url, row.tags = article.title, article.url, list(article.tags)
        row.body, row.checksum, row.indexed_at = article.body, article.checksum, now
        row.passages.clear()
        session.flush()  # the old passages go before the new ones take their positions
        row.passages.extend(
            KbPassage(position=i, heading=p.heading, text=p.text)
            for i, p in enumerate(article.passages)
        )
    unreadable = {p.path for p in problems}
    removed = sorted(path for path in existing if path not in unreadable)
    if removed:
        session.execute(delete(KbArticle).where(KbArticle.path.in_(removed)))
    state = session.get(KbIndexState, INDEX_NAME)
    if state is None:
        state = KbIndexState(name=INDEX_NAME, version=0, fingerprint="", indexed_at=now)
        session.add(state)
    if added or updated or removed:
        state.version += 1
    state.fingerprint, state.indexed_at = print_, now
    session.flush()
    return ReindexReport(
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=unchanged,
        problems=tuple(problems),
        version=state.version,
    )


def indexed_fingerprint(session: Session) -> str | None:
    state = session.get(KbIndexState, INDEX_NAME)
    return state.fingerprint if state else None


def index_version(session: Session) -> int:
    state = session.get(KbIndexState, INDEX_NAME)
    return state.version if state else 0


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """An article that answers a query, with the passage that answers it best."""

    article_id: int
    path: str
    title: str
    url: str | None
    heading: str | None
    passage: str
    score: float  # raw BM25 of the passage
    confidence: float  # score / the best score the query could get (0..1)

    def as_record(self) -> dict[str, Any]:
        """What a suggestion keeps of what it showed (JSON)."""
        return {
            "article_id": self.article_id,
            "path": self.path,
            "title": self.title,
            "url": self.url,
            "heading": self.heading,
            "passage": self.passage,
            "score": round(self.confidence, 4),
        }


@dataclass
class _Ranking:
    version: int
    bm25: Any  # rank_bm25.BM25Okapi, or None for an empty knowledge base
    passages: list[tuple[int, str, str, str | None, str | None, str]] = field(default_factory=list)
    corpus_size: int = 0


class KnowledgeIndex:
    """One process's ranking of the knowledge base, rebuilt from the database when the index's
    version moved. Thread-safe: handlers search from several threads."""

    K1 = 1.5
    B = 0.75

    def __init__(self) -> None:
        self.tokenize = Tokenizer()
        self._lock = threading.Lock()
        self._ranking: _Ranking | None = None

    def search(self, session: Session, query: str, *, limit: int = 3) -> list[Match]:
        """The best articles for `query`, best first, one passage each (at most `limit`)."""
        ranking = self._current(session)
        words = list(dict.fromkeys(self.tokenize(query)))  # each word once: a long question
        if ranking.bm25 is None or not words:  # repeats itself, and isn't surer for it
            return []
        scores = ranking.bm25.get_scores(words)
        best_possible = self._best_possible(ranking, words)
        by_article: dict[int, tuple[float, int]] = {}
        for index, score in enumerate(scores):
            if score <= 0:
                continue
            article_id = ranking.passages[index][0]
            if article_id not in by_article or score > by_article[article_id][0]:
                by_article[article_id] = (float(score), index)
        ranked = sorted(by_article.values(), key=lambda item: (-item[0], item[1]))[:limit]
        matches = []
        for score, index in ranked:
            article_id, path, title, url, heading, text = ranking.passages[index]
            matches.append(
                Match(
                    article_id=article_id,
                    path=path,
                    title=title,
                    url=url,
                    heading=heading,
                    passage=text,
                    score=score,
                    confidence=min(1.0, score / best_possible) if best_possible > 0 else 0.0,
                )
            )
        return matches

    def articles(self, session: Session) -> list[tuple[int, str, str]]:
        """Every indexed article as (id, path, title), by title: for pickers."""
        rows = session.execute(select(KbArticle.id, KbArticle.path, KbArticle.title)).all()
        return sorted(((r[0], r[1], r[2]) for r in rows), key=lambda r: (r[2].lower(), r[1]))

    def _best_possible(self, ranking: _Ranking, words: Sequence[str]) -> float:
        """Every word present and saturated in a passage of average length: sum of idf·(k1+1).
        A word the knowledge base never uses weighs what a word in no passage would."""
        unknown = math.log(1 + (ranking.corpus_size + 0.5) / 0.5)
        idf = ranking.bm25.idf
        return sum(max(idf.get(w, unknown), 0.0) for w in words) * (self.K1 + 1)

    def _current(self, session: Session) -> _Ranking:
        version = index_version(session)
        with self._lock:
            if self._ranking is None or self._ranking.version != version:
                self._ranking = self._build(session, version)
            return self._ranking

    def _build(self, session: Session, version: int) -> _Ranking:
        rows = session.execute(
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
        if not rows:
            return _Ranking(version, None)
        corpus = []
        passages = []
        for article_id, path, title, url, tags, heading, text in rows:
            # The title and tags say what every passage of the article is about.
            about = " ".join([title, *(tags or []), heading or ""])
            corpus.append(self.tokenize(f"{about}\n{text}"))
            passages.append((article_id, path, title, url, heading, text))
        bm25 = _lucene_bm25(corpus, k1=self.K1, b=self.B)
        return _Ranking(version, bm25, passages, len(corpus))


def _lucene_bm25(corpus: list[list[str]], *, k1: float, b: float) -> Any:
    """Okapi BM25 with Lucene's idf, log(1 + (N − df + 0.5) / (df + 0.5)): always positive, so
    in a small knowledge base a word most articles share (the product's name) still counts a
    little, instead of rank_bm25's floor for words in half the passages or more."""
    from rank_bm25 import BM25Okapi

    class LuceneBM25(BM25Okapi):  # type: ignore[misc]
        def _calc_idf(self, nd: dict[str, int]) -> None:
            self.idf = {
                word: math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))
                for word, freq in nd.items()
            }

    return LuceneBM25(corpus, k1=k1, b=b)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

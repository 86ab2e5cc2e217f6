"""The knowledge base: Markdown articles in a folder, indexed into the database, searched with BM25.

An article is a Markdown file with optional YAML front matter (`title`, `tags`, `url`, `draft`).
Its sections (a heading and the paragraphs under it, cut to passages of a few paragraphs) are what
search ranks and what a suggestion quotes, so a requester reads the answer itself, not a link.

`reindex` reads the folder into `kb_articles` / `kb_passages` (only files whose checksum changed
are rewritten) and bumps the index's `version` when anything changed. Each process keeps its
ranking in memory (`KnowledgeIndex`, one per desk) and rebuilds it when that version moves, so a
`supportbot kb reindex` run from a shell, or another replica noticing an edited file, reaches every
replica on its next search. `refresh_if_changed` (every 30 seconds in `serve`) reindexes only
when the folder's fingerprint moved.

Ranking is Okapi BM25 (`rank_bm25`, with Lucene's idf) over stemmed words (Snowball English,
`snowballstemmer`) without stop words, twice: over passages (what is quoted) and over whole
articles (an answer whose words are spread over two sections is still one answer). A BM25 score
has no scale of its own (it grows with the query's length and the corpus' vocabulary), so each is
taken as a share of the best score the query could get: every one of its words, saturated, in a
document of average length. Words the knowledge base never uses count in that best score too: a
question mostly about something else is not sure of an answer, however well one word matches.
An article's `confidence` (0 to 1, compared with the desk's threshold) is its blended share minus
a part of the best other article's: an article that barely beats another is no sure answer.
Measured on the shipped sample knowledge base by `bench/kb_ranking.py` (see README).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy.orm import Session

from storage.db import SessionFactory, read_only
from storage.knowledge import ArticleFields, IndexedPassage, KnowledgeRepository

if TYPE_CHECKING:
    from workflows.desk import Desk

logger = logging.getLogger(__name__)

DRAFTS_FOLDER = "drafts"  # Save as article writes here; drafts are never suggested
MAX_ARTICLE_BYTES = 512 * 1024
PASSAGE_CHARS = 700  # paragraphs are gathered into passages up to about this size
MAX_TITLE = 300  # kb_articles.title
MAX_HEADING = 300  # kb_passages.heading
MAX_URL = 500  # kb_articles.url

# English words that carry no meaning for search, plus the courtesies and fillers questions come
# wrapped in ("quick question", "is it possible", "thanks in advance").
_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves
    hi hello hey thanks thank please pls cheers team anyone someone somebody help know need want
    get got also still would could us let lets im ive youre
    quick question wondering possible anybody everyone folks guys actually basically really super
    maybe probably kindly asap thx ty appreciate appreciated advance
"""
# Contractions are looked up whole and by their first part ("what's" → "what", "we're" → "we"),
# so only the negative ones, whose first part is no word, are listed ("didn't" → "didn").
_NEGATIONS = """
    isn't aren't wasn't weren't don't doesn't didn't won't wouldn't can't couldn't shouldn't
    haven't hasn't hadn't mustn't needn't
"""
STOP_WORDS = frozenset(
    _STOP_WORDS.split()
    + _NEGATIONS.split()
    + [w.replace("'", "") for w in _NEGATIONS.split()]
    + [w.split("'")[0] for w in _NEGATIONS.split()]
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Spellings of one thing that stemming can't join: "e-mail"/"email", "login"/"log in"/"sign in",
# "setup"/"set up" ("in", "out" and "up" are stop words, so each becomes one word).
_COMPOUNDS = (
    (re.compile(r"\be-mail"), "email"),
    (re.compile(r"\b(?:log|sign)(?:s|ed|ged|ing|ging)?[ -]?(?:in|on|out)\b"), "sign in"),
    (re.compile(r"\bset[ -]?ups?\b"), "set up"),
)


def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


class Tokenizer:
    """Words as search compares them: lower case, no stop words, Snowball-stemmed ("refunds",
    "refunding" and "refunded" are one word). A word whose stem is a stop word's goes too
    ("getting", "needs"). Stemming is cached per word; guarded by a lock, as the stemmer object
    is not thread-safe."""

    def __init__(self) -> None:
        self._stem = _stemmer()
        self._lock = threading.Lock()
        self._stop_stems = frozenset(self._stem.stemWord(w) for w in STOP_WORDS if "'" not in w)
        self._cache: dict[str, str] = {}  # word -> stem, "" for a word search ignores

    def __call__(self, text: str) -> list[str]:
        text = text.lower().replace("’", "'")
        for pattern, replacement in _COMPOUNDS:
            text = pattern.sub(replacement, text)
        kept = []
        for word in _WORD.findall(text):
            base = word.split("'")[0]
            if word not in STOP_WORDS and base not in STOP_WORDS:
                kept.append(base)
        with self._lock:
            stems = [self._stem_of(word) for word in kept]
        return [stem for stem in stems if stem]

    def _stem_of(self, word: str) -> str:
        stem = self._cache.get(word)
        if stem is None:
            stem = self._stem.stemWord(word)
            stem = "" if stem in self._stop_stems else stem
            self._cache[word] = stem
        return stem


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
    if url is not None and len(url) > MAX_URL:
        return ArticleProblem(path, f"url is longer than {MAX_URL} characters")
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
            heading = found.group(2).strip()[:MAX_HEADING]
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
    """What the folder looks like (names, sizes, modification times, permissions): cheap to take
    every few seconds, and it changes when a file is added, edited, renamed, removed or made
    readable again. Names are relative, so replicas mounting one folder at different places
    agree."""
    digest = hashlib.sha256()
    for file in _markdown_files(folder):
        try:
            stat = file.stat()
        except OSError:
            continue
        name = file.relative_to(folder).as_posix()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_mode}\n".encode())
    return digest.hexdigest()


def _markdown_files(folder: Path) -> list[Path]:
    """The folder's articles (not drafts, not hidden). A folder that can't be listed raises
    OSError: read as empty, it would remove every article from the index (pathlib's rglob
    swallows PermissionError, so the walk is os.walk's, told to raise)."""
    if not folder.is_dir():
        return []

    def refuse(error: OSError) -> None:
        raise error

    found = []
    for root, folders, files in os.walk(folder, onerror=refuse):
        here = Path(root)
        top = here == folder
        folders[:] = [
            name
            for name in folders
            if not name.startswith(".") and not (top and name == DRAFTS_FOLDER)
        ]
        found.extend(
            here / name
            for name in files
            if name.endswith(".md") and not name.startswith(".") and (here / name).is_file()
        )
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
    article goes. Idempotent: an article whose checksum is unchanged is not rewritten, and the
    version moves only when something changed. Raises FolderMissing when the folder isn't there
    (the index is left as it is: an unmounted volume must not empty the knowledge base)."""
    if not folder.is_dir():
        raise FolderMissing(str(folder))
    repository = KnowledgeRepository(session)
    repository.lock_index(now=now)  # before reading: a concurrent reindex finishes first
    print_ = fingerprint(folder)  # taken before reading, so an edit meanwhile is seen next time
    articles, problems = read_folder(folder)
    existing = repository.articles_by_path()
    added, updated = [], []
    unchanged = 0
    for article in articles:
        row = existing.pop(article.path, None)
        if row is not None and row.checksum == article.checksum:
            unchanged += 1
        elif row is None:
            repository.add_article(article.path, _fields(article), now=now)
            added.append(article.path)
        else:
            repository.write_article(row, _fields(article), now=now)
            updated.append(article.path)
    unreadable = {p.path for p in problems}
    removed = sorted(path for path in existing if path not in unreadable)
    repository.remove_articles(removed)
    version = repository.record_index(
        fingerprint=print_, changed=bool(added or updated or removed), now=now
    )
    return ReindexReport(
        added=tuple(added),
        updated=tuple(updated),
        removed=tuple(removed),
        unchanged=unchanged,
        problems=tuple(problems),
        version=version,
    )


def _fields(article: Article) -> ArticleFields:
    return ArticleFields(
        title=article.title,
        url=article.url,
        tags=article.tags,
        body=article.body,
        checksum=article.checksum,
        passages=tuple((p.heading, p.text) for p in article.passages),
    )


def index_version(session: Session) -> int:
    return KnowledgeRepository(session).version()


# --- keeping the index in line with the folder (serve) -----------------------------------------


class FolderWatch:
    """What one process remembers of the folder between two looks: the fingerprint it last saw
    indexed (so it compares with the database only when its own folder changed: two replicas
    whose copies differ, in a rolling deploy, never undo each other's reindex every 30 seconds),
    and the problems it has logged (each once, not at every look)."""

    def __init__(self) -> None:
        self.seen: str | None = None
        self._folder_problem: str | None = None
        self._file_problems: frozenset[str] = frozenset()

    def folder_problem(self, problem: str | None) -> None:
        """The folder can't be read (`problem`), or can again (None): logged when it changes."""
        if problem is not None and problem != self._folder_problem:
            logger.warning("knowledge base: %s; the index is kept as it was", problem)
        elif problem is None and self._folder_problem is not None:
            logger.info("knowledge base: the folder can be read again")
        self._folder_problem = problem

    def file_problems(self, problems: Iterable[ArticleProblem]) -> None:
        """The files a reindex could not read: each logged when it first appears."""
        current = frozenset(f"{p.path}: {p.problem}" for p in problems)
        for problem in sorted(current - self._file_problems):
            logger.warning("knowledge base: %s (its last good version stays indexed)", problem)
        self._file_problems = current


def refresh_if_changed(
    session_factory: SessionFactory, desk: Desk, *, now: datetime | None = None
) -> ReindexReport | None:
    """Reindex when the folder changed since it was last indexed; None when there was nothing to
    do. Cheap when nothing changed (a look at the files' names, sizes and times); safe with
    several replicas: the second to notice an edit finds the newer fingerprint already stored
    (under the index's lock) and does nothing. A missing folder leaves the index as it is."""
    settings = desk.config.knowledge_base
    if settings is None:
        return None
    folder = Path(settings.path)
    watch = desk.knowledge.watch
    if not folder.is_dir():
        watch.folder_problem(f"folder {folder} does not exist (knowledge_base.path)")
        return None
    try:
        print_ = fingerprint(folder)
    except OSError as exc:
        watch.folder_problem(f"folder {folder} cannot be read ({exc.strerror or exc})")
        return None
    watch.folder_problem(None)
    if print_ == watch.seen:
        return None
    with read_only(session_factory) as session:
        stored = KnowledgeRepository(session).fingerprint()
    report = None
    if stored != print_:
        now = now or desk.clock.now()
        with session_factory.begin() as session:
            if KnowledgeRepository(session).lock_index(now=now).fingerprint != print_:
                report = reindex(session, folder, now=now)
    watch.seen = print_
    if report is not None:
        watch.file_problems(report.problems)
        if report.changed:
            logger.info(
                "knowledge base reindexed: %d added, %d updated, %d removed (version %d)",
                len(report.added),
                len(report.updated),
                len(report.removed),
                report.version,
            )
    return report


def refresh_knowledge(session_factory: SessionFactory, desk: Desk) -> None:
    """The scheduler's job (every 30 seconds, and once when `serve` starts)."""
    refresh_if_changed(session_factory, desk)


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
    confidence: float  # how sure search is that this article answers (0..1; see the module)

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


@dataclass(frozen=True)
class _Corpus:
    """One BM25 ranking (of passages, or of whole articles) and the best score a word can add
    there when the knowledge base never uses it."""

    bm25: Any  # rank_bm25.BM25Okapi
    unknown_idf: float

    def scores(self, words: Sequence[str]) -> Any:
        return self.bm25.get_scores(words)

    def best_possible(self, words: Sequence[str], k1: float) -> float:
        """Every word present and saturated in a document of average length: sum of idf·(k1+1).
        A word the knowledge base never uses weighs what a word in no document would."""
        idf = self.bm25.idf
        return sum(max(idf.get(w, self.unknown_idf), 0.0) for w in words) * (k1 + 1)


@dataclass
class _Ranking:
    version: int
    passages: list[IndexedPassage] = field(default_factory=list)
    by_passage: _Corpus | None = None  # None for an empty knowledge base
    by_article: _Corpus | None = None
    article_ids: list[int] = field(default_factory=list)  # by_article's documents, in order


class KnowledgeIndex:
    """One process's ranking of the knowledge base, rebuilt from the database when the index's
    version moved. Thread-safe: handlers search from several threads."""

    K1 = 1.5
    B = 0.75
    # How much the whole article counts next to its best passage, and how much of the best other
    # article's share is taken off an article's confidence. Measured with bench/kb_ranking.py on
    # the sample knowledge base: kept because each helped on both halves of its questions
    # (`--half even` / `--half odd`), not only on the whole set.
    ARTICLE_WEIGHT = 0.3
    MARGIN_WEIGHT = 0.3

    def __init__(self) -> None:
        self.tokenize = Tokenizer()
        self.watch = FolderWatch()
        self._lock = threading.Lock()
        self._ranking: _Ranking | None = None

    def search(self, session: Session, query: str, *, limit: int = 3) -> list[Match]:
        """The best articles for `query`, best first, one passage each (at most `limit`)."""
        ranking = self._current(session)
        # Each word once: a long question repeats itself, and isn't surer for it.
        words = list(dict.fromkeys(self.tokenize(query)))
        if ranking.by_passage is None or ranking.by_article is None or not words:
            return []
        best_passage = self._best_passages(ranking, words)
        if not best_passage:
            return []
        shares = self._shares(ranking, words, best_passage)
        ranked = sorted(shares, key=lambda article_id: (-shares[article_id], article_id))
        matches = []
        for article_id in ranked[:limit]:
            # The best other article: the runner-up for the best match, the best for the rest.
            rival = next((other for other in ranked[:2] if other != article_id), None)
            rival_share = shares[rival] if rival is not None else 0.0
            confidence = shares[article_id] - self.MARGIN_WEIGHT * rival_share
            score, index = best_passage[article_id]
            matches.append(_match(ranking.passages[index], score, max(0.0, min(1.0, confidence))))
        return matches

    def articles(self, session: Session) -> list[tuple[int, str, str]]:
        """Every indexed article as (id, path, title), by title: for pickers."""
        return list(KnowledgeRepository(session).article_titles())

    def _best_passages(
        self, ranking: _Ranking, words: Sequence[str]
    ) -> dict[int, tuple[float, int]]:
        """Each article that shares a word with the query: its best passage's (score, index)."""
        assert ranking.by_passage is not None
        best: dict[int, tuple[float, int]] = {}
        for index, score in enumerate(ranking.by_passage.scores(words)):
            article_id = ranking.passages[index].article_id
            if score > 0 and (article_id not in best or score > best[article_id][0]):
                best[article_id] = (float(score), index)
        return best

    def _shares(
        self, ranking: _Ranking, words: Sequence[str], best_passage: dict[int, tuple[float, int]]
    ) -> dict[int, float]:
        """Each candidate article's share of the best possible score: its best passage's and
        the whole article's, blended."""
        assert ranking.by_passage is not None and ranking.by_article is not None
        passage_best = ranking.by_passage.best_possible(words, self.K1)
        article_best = ranking.by_article.best_possible(words, self.K1)
        article_scores = dict(
            zip(ranking.article_ids, ranking.by_article.scores(words), strict=True)
        )
        return {
            article_id: (1 - self.ARTICLE_WEIGHT) * _share(score, passage_best)
            + self.ARTICLE_WEIGHT * _share(float(article_scores[article_id]), article_best)
            for article_id, (score, _) in best_passage.items()
        }

    def _current(self, session: Session) -> _Ranking:
        version = index_version(session)
        with self._lock:
            if self._ranking is None or self._ranking.version != version:
                self._ranking = self._build(session, version)
            return self._ranking

    def _build(self, session: Session, version: int) -> _Ranking:
        passages = KnowledgeRepository(session).passages()
        if not passages:
            return _Ranking(version)
        by_passage: list[list[str]] = []
        by_article: dict[int, list[str]] = {}
        for row in passages:
            # The title and tags say what every passage of the article is about.
            about = self.tokenize(" ".join([row.title, *row.tags]))
            text = self.tokenize(f"{row.heading or ''}\n{row.text}")
            by_passage.append(about + text)
            by_article.setdefault(row.article_id, about).extend(text)
        return _Ranking(
            version,
            passages,
            _corpus(by_passage, k1=self.K1, b=self.B),
            _corpus(list(by_article.values()), k1=self.K1, b=self.B),
            list(by_article),
        )


def _share(score: float, best_possible: float) -> float:
    return min(1.0, score / best_possible) if best_possible > 0 else 0.0


def _match(passage: IndexedPassage, score: float, confidence: float) -> Match:
    return Match(
        article_id=passage.article_id,
        path=passage.path,
        title=passage.title,
        url=passage.url,
        heading=passage.heading,
        passage=passage.text,
        score=score,
        confidence=confidence,
    )


def _corpus(documents: list[list[str]], *, k1: float, b: float) -> _Corpus:
    unknown = math.log(1 + (len(documents) + 0.5) / 0.5)
    return _Corpus(_lucene_bm25(documents, k1=k1, b=b), unknown)


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

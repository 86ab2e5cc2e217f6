"""How well knowledge-base search answers the questions of `tests/kb_questions.yml`, and where to
set the suggestion threshold.

Indexes the shipped sample knowledge base (`bot/sample_kb/`) into a temporary SQLite database with
the desk's own `reindex`, asks every question through `KnowledgeIndex.search`, and prints:

- precision@1: answerable questions whose best match is the right article (whatever its
  confidence);
- the same precision@1 for a baseline measured in the same run: the article sharing the most
  distinct words with the question (lower case, no stemming, no stop words), so the figure reads
  as a ratio over what plain word matching gets;
- for each threshold of the sweep, what the desk would do with `knowledge_base.threshold` set to
  it (a suggestion is made when the best match's confidence reaches the threshold):
  coverage (answerable questions whose best match is right and suggested), the false-suggestion
  rate (suggestions whose best match is wrong, every suggestion for an unanswerable question
  included, over all suggestions made) and how many unanswerable questions got a suggestion.

    . .venv/bin/activate    # from the repository's root
    python bench/kb_ranking.py                   # the sweep, 0.10 … 0.70
    python bench/kb_ranking.py --misses          # also every question answered wrongly
    python bench/kb_ranking.py --half even       # every other question (check on the other)
    python bench/kb_ranking.py --kb my/kb --questions my_questions.yml --step 0.025
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import DEFAULT_SUGGEST_THRESHOLD  # noqa: E402
from storage.db import create_db_engine, create_session_factory  # noqa: E402
from storage.migrate import upgrade_schema  # noqa: E402
from workflows.knowledge import KnowledgeIndex, reindex  # noqa: E402


@dataclass(frozen=True)
class Answer:
    question: str
    expected: str | None  # the right article's path; None: the knowledge base has no answer
    top: str | None  # the best match's path
    confidence: float  # the best match's
    runner_up: float  # the second match's confidence (0 without one)

    @property
    def right(self) -> bool:
        return self.expected is not None and self.top == self.expected


@dataclass(frozen=True)
class Row:
    threshold: float
    covered: int  # answerable, right and suggested
    suggestions: int
    false: int  # suggested and wrong (every suggestion for an unanswerable question)
    unanswerable_suggested: int

    @property
    def false_rate(self) -> float:
        return self.false / self.suggestions if self.suggestions else 0.0


def ask_all(
    kb: Path, questions: dict[str, list[dict[str, str]]], *, half: str | None = None
) -> list[Answer]:
    """Every question's best match, from a fresh index of `kb` in a temporary database
    (`half`: only the even- or odd-numbered questions of each list, counting from 0)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/kb.db")
        upgrade_schema(engine)
        sessions = create_session_factory(engine)
        with sessions.begin() as session:
            report = reindex(session, kb, now=datetime.now(UTC))
        for problem in report.problems:
            print(f"warning: {problem.path}: {problem.problem}", file=sys.stderr)
        index = KnowledgeIndex()
        asked = [(q["q"], q.get("article")) for q in questions.get("answerable", [])]
        asked += [(q["q"], None) for q in questions.get("unanswerable", [])]
        if half is not None:
            asked = [item for i, item in enumerate(asked) if i % 2 == (half == "odd")]
        answers = []
        with sessions() as session:
            for question, expected in asked:
                matches = index.search(session, question, limit=2)
                answers.append(
                    Answer(
                        question=question,
                        expected=expected,
                        top=matches[0].path if matches else None,
                        confidence=matches[0].confidence if matches else 0.0,
                        runner_up=matches[1].confidence if len(matches) > 1 else 0.0,
                    )
                )
        engine.dispose()
    return answers


def overlap_baseline(kb: Path, answers: list[Answer]) -> float:
    """Precision@1 of plain word overlap: the article (title and body) sharing the most distinct
    lower-case words with the question; ties go to the first path."""
    words = re.compile(r"[a-z0-9]+")
    articles = {
        file.relative_to(kb).as_posix(): set(words.findall(file.read_text("utf-8").lower()))
        for file in sorted(kb.rglob("*.md"))
        if "drafts" not in file.relative_to(kb).parts
    }
    answerable = [a for a in answers if a.expected is not None]
    right = 0
    for answer in answerable:
        asked = set(words.findall(answer.question.lower()))
        best = max(articles, key=lambda path: len(asked & articles[path]))
        right += best == answer.expected
    return right / len(answerable) if answerable else 0.0


def sweep(answers: list[Answer], thresholds: list[float]) -> list[Row]:
    rows = []
    for threshold in thresholds:
        made = [a for a in answers if a.top is not None and a.confidence >= threshold]
        rows.append(
            Row(
                threshold=threshold,
                covered=sum(a.right for a in made),
                suggestions=len(made),
                false=sum(not a.right for a in made),
                unanswerable_suggested=sum(a.expected is None for a in made),
            )
        )
    return rows


def print_report(
    answers: list[Answer], rows: list[Row], *, misses: bool, baseline: float
) -> None:
    answerable = [a for a in answers if a.expected is not None]
    unanswerable = len(answers) - len(answerable)
    right = sum(a.right for a in answerable)
    print(
        f"{len(answerable)} answerable questions, {unanswerable} unanswerable; "
        f"default threshold {DEFAULT_SUGGEST_THRESHOLD:.2f}"
    )
    precision = right / len(answerable)
    print(f"precision@1: {right}/{len(answerable)} = {precision:.1%}")
    ratio = f"{precision / baseline:.2f}×" if baseline else "n/a"
    print(f"baseline (plain word overlap, same run): {baseline:.1%}; BM25 does {ratio} as well\n")
    print("| threshold | coverage | suggestions | false | FSR | unanswerable suggested |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        mark = " ←" if abs(row.threshold - DEFAULT_SUGGEST_THRESHOLD) < 1e-9 else ""
        print(
            f"| {row.threshold:.2f}{mark} | {row.covered}/{len(answerable)} "
            f"({row.covered / len(answerable):.0%}) | {row.suggestions} | {row.false} "
            f"| {row.false_rate:.1%} | {row.unanswerable_suggested}/{unanswerable} |"
        )
    if misses:
        print("\nwrong or missing best matches (confidence, expected → got):")
        for a in sorted(answers, key=lambda a: -a.confidence):
            if not a.right:
                print(f"  {a.confidence:.2f} {a.expected or '(none)'} → {a.top}: {a.question!r}")
        print("\nright best matches (confidence, runner-up):")
        for a in sorted(answers, key=lambda a: a.confidence):
            if a.right:
                print(f"  {a.confidence:.2f} ({a.runner_up:.2f}) {a.expected}: {a.question!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=ROOT / "bot" / "sample_kb")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "kb_questions.yml")
    parser.add_argument("--low", type=float, default=0.10)
    parser.add_argument("--high", type=float, default=0.70)
    parser.add_argument("--step", type=float, default=0.05)
    parser.add_argument("--misses", action="store_true", help="list the wrong best matches")
    parser.add_argument(
        "--half", choices=["even", "odd"], help="only every other question (to check a choice)"
    )
    args = parser.parse_args()
    questions = yaml.safe_load(args.questions.read_text(encoding="utf-8"))
    answers = ask_all(args.kb, questions, half=args.half)
    count = round((args.high - args.low) / args.step)
    thresholds = [round(args.low + i * args.step, 4) for i in range(count + 1)]
    if all(abs(t - DEFAULT_SUGGEST_THRESHOLD) > 1e-9 for t in thresholds):
        thresholds = sorted([*thresholds, DEFAULT_SUGGEST_THRESHOLD])
    baseline = overlap_baseline(args.kb, answers)
    print_report(answers, sweep(answers, thresholds), misses=args.misses, baseline=baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())

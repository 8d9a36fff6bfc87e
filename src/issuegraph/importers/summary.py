"""What a run did, counted per kind of object, with every failure and left-out link named."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

OUTCOMES = ("imported", "updated", "unchanged", "skipped", "failed")
KINDS = ("group", "project", "user", "member", "label", "milestone", "issue", "note", "link")


@dataclass(frozen=True)
class Problem:
    kind: str
    ref: str
    reason: str


@dataclass
class Summary:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)  # links left out: outside, or a rule refused
    dry_run: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # fetch threads report too

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind, outcome] += n

    def fail(self, kind: str, ref: str, reason: str) -> None:
        with self._lock:
            self.counts[kind, "failed"] += 1
            self.failures.append(Problem(kind, ref, reason))

    def skip(self, kind: str, ref: str, reason: str) -> None:
        with self._lock:
            self.counts[kind, "skipped"] += 1
            self.skipped.append(Problem(kind, ref, reason))

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.counts.items() if o == outcome)

    def as_dict(self) -> dict[str, object]:
        return {
            "counts": {f"{k}.{o}": n for (k, o), n in sorted(self.counts.items())},
            "skipped": [p.__dict__ for p in self.skipped],
            "failed": [p.__dict__ for p in self.failures],
            "dry_run": self.dry_run,
        }

    def render(self, console: Console) -> None:
        title = "Import summary (dry run: nothing was written)" if self.dry_run else "Import summary"
        table = Table(title=title)
        table.add_column("object")
        for outcome in OUTCOMES:
            table.add_column(outcome, justify="right")
        for kind in KINDS:
            if any(self.counts[kind, o] for o in OUTCOMES):
                table.add_row(kind, *(str(self.counts[kind, o]) for o in OUTCOMES))
        console.print(table)
        for heading, problems in (("Left out", self.skipped), ("Failed", self.failures)):
            if problems:
                console.print(f"[bold]{heading}[/bold] ({len(problems)}):")
                for p in problems:
                    console.print(f"  {p.kind} {p.ref}: {p.reason}", markup=False, highlight=False)

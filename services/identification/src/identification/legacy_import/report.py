"""What ``nrm import`` tells its operator: a progress bar while rows are matched (on
stderr, only on a terminal) and the summary at the end. Figures, row numbers, column
names and reasons only: never a value of a row."""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs published with it

from identification.legacy_import.importing import ImportSummary
from identification.legacy_import.reading import Export


class Progress:
    """A progress bar over the rows matched; silent when ``stream`` is not a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self._bar = tqdm(
            total=total,
            desc="matching",
            unit="row",
            file=stream,
            disable=not stream.isatty(),
            leave=False,
        )

    def advance(self, rows: int) -> None:
        self._bar.update(rows)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._bar.close()


def summary_lines(export: Export, summary: ImportSummary | None) -> list[str]:
    """The summary: figures, then each rejected row's number, column and reason."""
    rejected = len({rejection.row for rejection in export.rejections})
    lines = [f"rows read: {export.rows_read}", f"rows rejected: {rejected}"]
    if summary is None:
        lines.append("rows imported: 0 (nothing imported)")
    else:
        lines += [
            f"rows already imported (skipped): {summary.rows_already_imported}",
            f"rows imported: {summary.rows_imported}",
            f"new persons: {summary.new_persons}",
            f"auto-linked: {summary.auto_linked}",
            f"sent to review: {summary.sent_to_review}",
            f"run: {summary.run_id}",
        ]
    lines += [f"rejected {rejection}" for rejection in export.rejections]
    return lines


def print_summary(export: Export, summary: ImportSummary | None, out: TextIO) -> None:
    for line in summary_lines(export, summary):
        print(line, file=out)

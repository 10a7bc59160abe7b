"""The plain table of a run without a terminal: drawn as Rich draws it, a row per line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from monitor.cli.plaintable import Column, cell_width, render

COLUMNS = (Column("check"), Column("kind"), Column("attempts", right=True), Column("message"))


def _rich(title: str, rows: list[tuple[str, ...]]) -> str:
    out = io.StringIO()
    console = Console(file=out, width=1000, soft_wrap=True, color_system=None)
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column.header, justify="right" if column.right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return out.getvalue()


class TestRender:
    @pytest.mark.parametrize(
        "rows",
        [
            pytest.param([("api", "http", "1", "ok")], id="one-row"),
            pytest.param(
                [
                    ("a-much-longer-check-name", "tcp", "12", "connection refused"),
                    ("b", "dns", "1", ""),
                ],
                id="widths-from-the-widest-cell",
            ),
            pytest.param(
                [("zh", "http", "1", "页面不可用"), ("é", "http", "1", "café")],
                id="wide-and-accented",
            ),
            pytest.param([], id="no-rows"),
        ],
    )
    def test_matches_richs_table(self, rows: list[tuple[str, ...]]) -> None:
        """For one-line cells the plain table is character for character Rich's uncoloured one."""
        assert render("smokewatch run (local)", COLUMNS, rows) == _rich(
            "smokewatch run (local)", rows
        )

    def test_a_line_break_in_a_cell_stays_on_its_row(self) -> None:
        """A multi-line message is joined with spaces, so each check is one log line."""
        text = render("t", COLUMNS, [("api", "http", "1", "first\nsecond")])
        rows = [line for line in text.splitlines() if line.startswith("│")]
        assert rows == ["│ api   │ http │        1 │ first second │"]

    def test_markup_is_taken_literally(self) -> None:
        """Brackets in a target's message are shown as sent, never read as styling."""
        text = render("t", COLUMNS, [("api", "http", "1", "[red]x[/] [bold]")])
        assert "[red]x[/] [bold]" in text


class TestCellWidth:
    @pytest.mark.parametrize(
        ("text", "width"),
        [
            pytest.param("abc", 3, id="ascii"),
            pytest.param("页面", 4, id="wide"),
            pytest.param("e\u0301", 1, id="combining"),
        ],
    )
    def test_counts_terminal_columns(self, text: str, width: int) -> None:
        """Width is counted in terminal columns, as a terminal would draw the text."""
        assert cell_width(text) == width

"""Specifications of the standard-library reading of database URLs (what `validate` checks
offline): it must name the same SQLite file SQLAlchemy opens later."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.dburl import database_url, sqlite_path
from monitor.store.urls import sqlite_file

URLS = [
    ("sqlite:///results.db", Path("results.db")),
    ("sqlite:////var/lib/smokewatch/results.db", Path("/var/lib/smokewatch/results.db")),
    ("results.db", Path("results.db")),
    ("/var/lib/results.db", Path("/var/lib/results.db")),
    ("sqlite:///data/a%20b.db", Path("data/a b.db")),
    ("sqlite:///results.db?timeout=5", Path("results.db")),
    ("sqlite://", None),
    ("sqlite:///:memory:", None),
    ("sqlite:///file:mem?mode=memory&uri=true", None),
    ("postgresql://u:p@db:5432/smoke", None),
    ("postgres://db/smoke", None),
]


class TestSqlitePath:
    @pytest.mark.parametrize(("raw", "expected"), URLS, ids=[u for u, _ in URLS])
    def test_it_agrees_with_sqlalchemy(self, raw: str, expected: Path | None) -> None:
        """The file named offline is the file the store opens (or neither names one)."""
        url = database_url(raw)
        assert sqlite_path(url) == expected
        assert sqlite_file(make_url(url)) == expected

    def test_a_port_that_is_no_number_is_a_value_error(self) -> None:
        """A port that is not a number is refused offline, as SQLAlchemy would refuse it."""
        with pytest.raises(ValueError, match="Port could not be cast"):
            sqlite_path(database_url("postgresql://u:p@db:nope/x"))
        with pytest.raises(ValueError, match="invalid literal for int"):
            _ = make_url(database_url("postgresql://u:p@db:nope/x")).port

"""bench/chaos_live.py for real, shortened: PostgreSQL, the demo target, aiosmtpd, a webhook
receiver and two ``smokewatch serve`` processes; one 16 s outage (500s) in 36 s."""

from __future__ import annotations

import time

import pytest

from bench import chaos_live
from bench.chaos import Figures, format_table

MINUTES = 0.6  # one 16 s outage centred in 36 s: ~10 s quiet on both sides
# A bound on the run, not a speed figure: ~50 s alone, 90 s at load 10 on 2 cores.
WALL_LIMIT_S = 240.0


@pytest.fixture(scope="module")
def tables() -> dict[str, Figures]:
    began = time.monotonic()
    out = chaos_live.measure(chaos_live.parse(["--minutes", str(MINUTES), "--outages", "1"]))
    spent = time.monotonic() - began
    assert spent < WALL_LIMIT_S, f"the live bench took {spent:.0f} s"
    return {t.scenario.removeprefix("live, "): t for t in out}


@pytest.mark.timeout(300)  # the first test also runs the module fixture (the live bench)
@pytest.mark.parametrize("channel", ["e-mail", "webhook"])
class TestLiveChaos:
    """One real outage under 5 % random 503s and jitter, through both channels."""

    def test_no_false_alert(self, tables: dict[str, Figures], channel: str) -> None:
        """No firing notification arrives that the outage does not explain."""
        assert tables[channel].counts["false_alerts"] == 0, format_table(tables[channel])

    def test_outage_caught_once_per_group(self, tables: dict[str, Figures], channel: str) -> None:
        """The outage fires and resolves exactly once per check and region, no key repeated."""
        counts = tables[channel].counts
        report = format_table(tables[channel])
        assert counts["outages_caught"] == counts["outages"] == 1, report
        assert counts["groups"] == 12, report  # 6 checks x 2 regions
        assert counts["exact_groups"] == counts["groups"], report
        assert counts["duplicates"] == 0, report

    def test_verdicts_and_store_agree(self, tables: dict[str, Figures], channel: str) -> None:
        """No run is ``error`` (the target always answered or timed out) and nothing fires at
        the end: every incident the API opened was notified."""
        counts = tables[channel].counts
        report = format_table(tables[channel])
        assert counts["errors"] == 0, report
        assert counts["firing_at_end"] == 0, report
        assert counts["incidents"] == counts["groups"], report

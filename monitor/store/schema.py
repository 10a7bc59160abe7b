"""The tables as the running code sees them.  Migrations own the DDL (``migrations/versions``).

Dialect-specific index options (PostgreSQL's ``INCLUDE``, partial indexes' ``WHERE``)
are written in the migrations only, and named here in comments: SQLAlchemy checks such
keyword arguments by importing the dialect, so one here would load the PostgreSQL
dialect (about 40 ms) into every process, a SQLite one included.

``results`` holds every run; ``latest_results`` and ``result_stats`` are kept in
step with it by ``ResultStore.add`` (same transaction) so that reading the
current state or a 90-day history never scans ``results``; ``incidents`` records
outages per (check, region).  ``alert_states``, ``outbox`` and ``silences`` belong to
alerting (``monitor.store.alerts``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware timestamp stored as UTC, read back as tz-aware UTC on every backend.

    SQLite keeps no offset, so we normalise to UTC going in and attach UTC coming
    out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a tz-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


results = Table(
    "results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False),
    Column("check", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float(), nullable=False),  # the final attempt's probe time
    Column("wall_ms", Float(), nullable=False, server_default="0"),
    Column("wait_ms", Float(), nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("message", Text(), nullable=False),
    Column("reason", String(32), nullable=True),  # probes.reasons.FailureReason, fail/error
    Column("timings", JSON(), nullable=False),
    Column("assertions", JSON(), nullable=False),
    Column("details", JSON(), nullable=False),
    Column("artifacts", JSON(), nullable=False),
    # Ids only grow, even after prune empties the table: keyset cursors and
    # "latest = max(id)" rely on it.
    sqlite_autoincrement=True,
)

# The latest-per-(check, region) query groups by (check, region) and takes max(id):
# SQLite indexes carry the rowid, PostgreSQL needs INCLUDE (id) for an index-only scan
# (migration 0001).
Index(
    "ix_results_check_region_started_at",
    results.c.check,
    results.c.region,
    results.c.started_at,
)
Index("ix_results_started_at", results.c.started_at)
# One row per run, check and region: a result replayed from the spool is stored once.
Index(
    "ux_results_run_check_region",
    results.c.run_id,
    results.c.check,
    results.c.region,
    unique=True,
)

# The newest stored result of each (check, region): one row each, upserted by add().
latest_results = Table(
    "latest_results",
    metadata,
    Column("check", String(200), nullable=False),
    Column("region", String(64), nullable=False),
    Column("result_id", Id, nullable=False),
    PrimaryKeyConstraint("check", "region"),
)

# Counts and durations of one check in one region over one UTC hour or day.
# sum_ms and max_ms cover non-error results only (an error is the probe failing to
# run, not a measurement); max_ms is NULL while a bucket holds only errors.
result_stats = Table(
    "result_stats",
    metadata,
    Column("check", String(200), nullable=False),
    Column("region", String(64), nullable=False),
    Column("period", String(8), nullable=False),  # hour | day
    Column("bucket_start", UTCDateTime(), nullable=False),
    Column("total", Integer(), nullable=False),
    Column("passed", Integer(), nullable=False),
    Column("degraded", Integer(), nullable=False),
    Column("failed", Integer(), nullable=False),
    Column("errored", Integer(), nullable=False),
    Column("sum_ms", Float(), nullable=False),
    Column("max_ms", Float(), nullable=True),
    # This column order serves stats() of one check: one range, already in bucket order.
    PrimaryKeyConstraint("check", "period", "bucket_start", "region"),
)
# stats() across all checks and prune() select by (period, bucket_start).
Index("ix_result_stats_period_bucket_start", result_stats.c.period, result_stats.c.bucket_start)

# Failure artifacts of a result (screenshot, trace, response excerpt): the bytes live in
# the artifact backend under ``key``; this row says they exist (0009).  Pruned together
# with the backend (monitor.artifacts.store), so neither outlives the other.
artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("result_id", Id, nullable=False),
    Column("check", String(200), nullable=False),
    Column("name", String(100), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("key", String(600), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)
Index("ux_artifacts_result_name", artifacts.c.result_id, artifacts.c.name, unique=True)
Index("ix_artifacts_check_result", artifacts.c.check, artifacts.c.result_id)
Index("ix_artifacts_created_at", artifacts.c.created_at)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("check", String(200), nullable=False),
    Column("region", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("message", Text(), nullable=False),
    sqlite_autoincrement=True,
)
# At most one open incident per (check, region): open_incident() relies on it to be
# idempotent, also when two instances of one region race.  A partial index: WHERE
# OPEN_INCIDENT_WHERE (migration 0002).
OPEN_INCIDENT_WHERE = text("resolved_at IS NULL")
Index("uq_incidents_open", incidents.c.check, incidents.c.region, unique=True)
Index("ix_incidents_started_at", incidents.c.started_at)

# One row per alert group (rule x check [x region]): its state and what it last notified.
# Writers compare-and-set on ``version``, so evaluators racing on one database (several
# regions) cannot both apply one transition.
alert_states = Table(
    "alert_states",
    metadata,
    Column("alert_key", String(400), primary_key=True),
    Column("rule", String(100), nullable=False),
    Column("check", String(200), nullable=False),
    Column("region", String(64), nullable=True),  # NULL: aggregated over regions
    Column("state", String(16), nullable=False),  # inactive|pending|firing|recovering|inhibited
    Column("since", UTCDateTime(), nullable=True),
    Column("value", Float(), nullable=True),
    Column("regions", JSON(), nullable=False),
    Column("good_count", Integer(), nullable=False),
    Column("evidence", String(64), nullable=True),
    Column("notified", String(16), nullable=False),  # none | firing | flapping
    Column("last_notified_at", UTCDateTime(), nullable=True),
    Column("seq", Integer(), nullable=False),
    Column("version", Integer(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("no_data", Boolean(), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("summary", Text(), nullable=False),
    # The outage behind the alert: first failing run's start, first passing run's start.
    Column("outage_started_at", UTCDateTime(), nullable=True),
    Column("outage_ended_at", UTCDateTime(), nullable=True),
    Column("flips", JSON(), nullable=False, server_default="[]"),  # state changes (ISO times)
    Column("flapping_since", UTCDateTime(), nullable=True),
    # inhibited: the alert key holding it (a parent check's alert, or region_unhealthy/<r>)
    Column("inhibited_by", String(400), nullable=True),
)
Index("ix_alert_states_rule", alert_states.c.rule)

# Notifications waiting for (or done with) delivery: written in the transaction of the
# state change that caused them; ``key`` makes a transition's row per target unique.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("alert_key", String(400), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("target", String(400), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("claimed_until", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("failed_at", UTCDateTime(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("claimed_by", String(200), nullable=True),  # owner id of the claim (0007)
    sqlite_autoincrement=True,
)
# The deliverer's poll: undelivered, unfailed rows by due time.  A partial index: WHERE
# delivered_at IS NULL AND failed_at IS NULL (migration 0003).
Index("ix_outbox_pending", outbox.c.next_attempt_at)
Index("ix_outbox_created_at", outbox.c.created_at)

# One row, made with the schema: a random id that is part of every notification key, so
# no two databases (installations) ever make the same key.
installation = Table(
    "installation",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=False),
    Column("installation_id", String(32), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("id = 1", name="ck_installation_single_row"),
)

# Each deliverer's heartbeat: a claim whose owner's heartbeat is older than the owner
# timeout (or gone) can be taken back before its lease runs out.
outbox_owners = Table(
    "outbox_owners",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("matchers", JSON(), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("author", String(200), nullable=False),
    Column("comment", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expired_at", UTCDateTime(), nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_silences_ends_at", silences.c.ends_at)

# Heartbeat checks: the signals their jobs sent (any replica's API writes, any replica's
# runner reads), and when smokewatch began watching each (``first_seen``).
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("check", String(200), primary_key=True),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_start", UTCDateTime(), nullable=True),
    Column("last_success", UTCDateTime(), nullable=True),
    Column("last_fail", UTCDateTime(), nullable=True),
    Column("fail_message", Text(), nullable=False, server_default=""),
)

# Incidents and scheduled maintenance written by people (0012), ``kind`` incident or
# maintenance, with their timestamped updates (newest last).  Alert-made outages stay in
# ``incidents``.
notices = Table(
    "notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # incident | maintenance
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # the newest update's
    Column("impact", String(16), nullable=False),
    Column("components", JSON(), nullable=False),  # check names and group:<name>
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("scheduled_for", UTCDateTime(), nullable=True),  # maintenance only
    Column("scheduled_until", UTCDateTime(), nullable=True),
    Column("monitoring_at", UTCDateTime(), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),  # resolved or completed
    sqlite_autoincrement=True,
)
Index("ix_notices_kind_created_at", notices.c.kind, notices.c.created_at)

notice_updates = Table(
    "notice_updates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notice_id", Id, nullable=False),
    Column("status", String(16), nullable=False),
    Column("body", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_notice_updates_notice_id", notice_updates.c.notice_id, notice_updates.c.id)

# Replicas of a region that share its checks (monitor/scheduling/shard.py): each writes its row on
# every heartbeat; a row older than the liveness timeout is a dead member.
members = Table(
    "members",
    metadata,
    Column("region", String(100), primary_key=True),
    Column("member", String(200), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
)

# One row per scheduled run that started: whoever inserts (region, check, due time)
# first runs it, so a due time never runs twice however ownership moves.
run_claims = Table(
    "run_claims",
    metadata,
    Column("region", String(100), primary_key=True),
    Column("check", String(200), primary_key=True),
    Column("due_at", UTCDateTime(), primary_key=True),
    Column("member", String(200), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("run_id", String(32), nullable=False),  # the run's results carry it
)
Index("ix_run_claims_due_at", run_claims.c.due_at)

-- revision: 0013
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE results (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	run_id VARCHAR(32) NOT NULL, 
	"check" VARCHAR(200) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	region VARCHAR(64) NOT NULL, 
	started_at DATETIME NOT NULL, 
	duration_ms FLOAT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	message TEXT NOT NULL, 
	timings JSON NOT NULL, 
	assertions JSON NOT NULL, 
	details JSON NOT NULL, 
	artifacts JSON NOT NULL
, wall_ms FLOAT DEFAULT '0' NOT NULL, wait_ms FLOAT DEFAULT '0' NOT NULL, reason VARCHAR(32));

CREATE TABLE latest_results (
	"check" VARCHAR(200) NOT NULL, 
	region VARCHAR(64) NOT NULL, 
	result_id INTEGER NOT NULL, 
	PRIMARY KEY ("check", region)
);

CREATE TABLE result_stats (
	"check" VARCHAR(200) NOT NULL, 
	region VARCHAR(64) NOT NULL, 
	period VARCHAR(8) NOT NULL, 
	bucket_start DATETIME NOT NULL, 
	total INTEGER NOT NULL, 
	passed INTEGER NOT NULL, 
	degraded INTEGER NOT NULL, 
	failed INTEGER NOT NULL, 
	errored INTEGER NOT NULL, 
	sum_ms FLOAT NOT NULL, 
	max_ms FLOAT, 
	PRIMARY KEY ("check", period, bucket_start, region)
);

CREATE TABLE incidents (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	"check" VARCHAR(200) NOT NULL, 
	region VARCHAR(64) NOT NULL, 
	started_at DATETIME NOT NULL, 
	resolved_at DATETIME, 
	message TEXT NOT NULL
);

CREATE TABLE alert_states (
	alert_key VARCHAR(400) NOT NULL, 
	rule VARCHAR(100) NOT NULL, 
	"check" VARCHAR(200) NOT NULL, 
	region VARCHAR(64), 
	state VARCHAR(16) NOT NULL, 
	since DATETIME, 
	value FLOAT, 
	regions JSON NOT NULL, 
	good_count INTEGER NOT NULL, 
	evidence VARCHAR(64), 
	notified VARCHAR(16) NOT NULL, 
	last_notified_at DATETIME, 
	seq INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	no_data BOOLEAN NOT NULL, 
	severity VARCHAR(16) NOT NULL, 
	summary TEXT NOT NULL, outage_started_at DATETIME, outage_ended_at DATETIME, flips JSON DEFAULT '[]' NOT NULL, flapping_since DATETIME, inhibited_by VARCHAR(400), 
	PRIMARY KEY (alert_key)
);

CREATE TABLE outbox (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	"key" VARCHAR(64) NOT NULL, 
	alert_key VARCHAR(400) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	target VARCHAR(400) NOT NULL, 
	payload JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	claimed_until DATETIME, 
	delivered_at DATETIME, 
	failed_at DATETIME, 
	last_error TEXT, claimed_by VARCHAR(200), 
	UNIQUE ("key")
);

CREATE TABLE silences (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	matchers JSON NOT NULL, 
	starts_at DATETIME NOT NULL, 
	ends_at DATETIME NOT NULL, 
	author VARCHAR(200) NOT NULL, 
	comment TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	expired_at DATETIME
);

CREATE TABLE installation (
	id INTEGER NOT NULL, 
	installation_id VARCHAR(32) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_installation_single_row CHECK (id = 1)
);

CREATE TABLE outbox_owners (
	owner VARCHAR(200) NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	PRIMARY KEY (owner)
);

CREATE TABLE artifacts (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	result_id INTEGER NOT NULL, 
	"check" VARCHAR(200) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	size BIGINT NOT NULL, 
	content_type VARCHAR(100) NOT NULL, 
	"key" VARCHAR(600) NOT NULL, 
	created_at DATETIME NOT NULL
);

CREATE TABLE heartbeats (
	"check" VARCHAR(200) NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_start DATETIME, 
	last_success DATETIME, 
	last_fail DATETIME, 
	fail_message TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY ("check")
);

CREATE TABLE notices (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	kind VARCHAR(16) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	impact VARCHAR(16) NOT NULL, 
	components JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	started_at DATETIME NOT NULL, 
	scheduled_for DATETIME, 
	scheduled_until DATETIME, 
	monitoring_at DATETIME, 
	resolved_at DATETIME
);

CREATE TABLE notice_updates (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	notice_id INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL
);

CREATE TABLE members (
	region VARCHAR(100) NOT NULL, 
	member VARCHAR(200) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	started_at DATETIME NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	PRIMARY KEY (region, member)
);

CREATE TABLE run_claims (
	region VARCHAR(100) NOT NULL, 
	"check" VARCHAR(200) NOT NULL, 
	due_at DATETIME NOT NULL, 
	member VARCHAR(200) NOT NULL, 
	claimed_at DATETIME NOT NULL, 
	run_id VARCHAR(32) NOT NULL, 
	PRIMARY KEY (region, "check", due_at)
);

CREATE INDEX ix_results_check_region_started_at ON results ("check", region, started_at);

CREATE INDEX ix_results_started_at ON results (started_at);

CREATE INDEX ix_result_stats_period_bucket_start ON result_stats (period, bucket_start);

CREATE UNIQUE INDEX uq_incidents_open ON incidents ("check", region) WHERE resolved_at IS NULL;

CREATE INDEX ix_incidents_started_at ON incidents (started_at);

CREATE INDEX ix_alert_states_rule ON alert_states (rule);

CREATE INDEX ix_outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE INDEX ix_outbox_created_at ON outbox (created_at);

CREATE INDEX ix_silences_ends_at ON silences (ends_at);

CREATE UNIQUE INDEX ux_results_run_check_region ON results (run_id, "check", region);

CREATE UNIQUE INDEX ux_artifacts_result_name ON artifacts (result_id, name);

CREATE INDEX ix_artifacts_check_result ON artifacts ("check", result_id);

CREATE INDEX ix_artifacts_created_at ON artifacts (created_at);

CREATE INDEX ix_notices_kind_created_at ON notices (kind, created_at);

CREATE INDEX ix_notice_updates_notice_id ON notice_updates (notice_id, id);

CREATE INDEX ix_run_claims_due_at ON run_claims (due_at);


-- SPDX-License-Identifier: MIT
-- VelociCompanion store schema: the one source of truth for the tables.
--
-- Migrations are numbered.  A line "-- migration: N" starts migration N;
-- on open, every migration above PRAGMA user_version runs in one
-- transaction and user_version becomes N.  Never edit a released
-- migration: add the next one.
--
-- Conventions: public ids are random UUID text; times are INTEGER seconds
-- since the epoch (columns *_at), audit times milliseconds (ts_ms);
-- every tenant-owned table has tenant_id NOT NULL and every query of it
-- binds tenant_id.

-- migration: 1
CREATE TABLE tenants (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	allow_registration INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	username TEXT NOT NULL UNIQUE,
	email TEXT,
	role TEXT NOT NULL CHECK (role IN ('superadmin','admin','analyst','viewer')),
	password_hash TEXT NOT NULL,
	disabled INTEGER NOT NULL DEFAULT 0,
	token_version INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	last_login_at INTEGER,
	UNIQUE (tenant_id, id)
);
CREATE INDEX users_tenant ON users(tenant_id, username);

CREATE TABLE refresh_tokens (
	id TEXT PRIMARY KEY,
	family_id TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	family_expires_at INTEGER NOT NULL,
	used_at INTEGER,
	revoked_at INTEGER,
	ip TEXT,
	user_agent TEXT,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(tenant_id, user_id);

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('admin','analyst','viewer')),
	token_hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at INTEGER,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id, created_at);

-- The audit log: append-only, one HMAC chain per tenant ('' is the
-- platform chain for events with no tenant, e.g. a login by an unknown
-- name).  mac = HMAC(K_audit, prev_mac || enc(record)); see lib/audit.c.
CREATE TABLE audit_logs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	chain TEXT NOT NULL,
	ts_ms INTEGER NOT NULL,
	tenant_id TEXT,
	actor_type TEXT NOT NULL,
	actor_id TEXT,
	actor_name TEXT,
	token_id TEXT,
	action TEXT NOT NULL,
	target_type TEXT,
	target_id TEXT,
	outcome TEXT NOT NULL CHECK (outcome IN ('success','failure','denied')),
	reason TEXT,
	ip TEXT,
	user_agent TEXT,
	request_id TEXT,
	details TEXT,
	key_id INTEGER NOT NULL,
	prev_mac TEXT NOT NULL,
	mac TEXT NOT NULL
);
CREATE INDEX audit_logs_chain ON audit_logs(chain, id);
CREATE INDEX audit_logs_tenant ON audit_logs(tenant_id, ts_ms);
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
	SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs
BEGIN
	SELECT RAISE(ABORT, 'audit_logs is append-only');
END;

-- migration: 2
-- Hosts, cases and evidence (issue 3).  ip_key is the address as 16
-- bytes (IPv4 mapped into ::ffff:0:0/96) so that one BETWEEN serves CIDR
-- filters for both families.  Sortable columns are NOT NULL (0, '' or
-- x'' stand for unknown) so that keyset paging can use the indexes.
CREATE TABLE hosts (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	client_id TEXT,
	hostname TEXT NOT NULL COLLATE NOCASE,
	fqdn TEXT,
	ip TEXT,
	ip_key BLOB NOT NULL DEFAULT x'',
	os TEXT NOT NULL DEFAULT '',
	os_version TEXT,
	labels TEXT NOT NULL DEFAULT '[]',
	notes TEXT,
	source TEXT NOT NULL DEFAULT 'generic',
	first_seen_at INTEGER NOT NULL DEFAULT 0,
	last_seen_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, client_id)
);
CREATE INDEX hosts_hostname ON hosts(tenant_id, hostname, id);
CREATE INDEX hosts_ip ON hosts(tenant_id, ip_key, id);
CREATE INDEX hosts_os ON hosts(tenant_id, os, id);
CREATE INDEX hosts_last_seen ON hosts(tenant_id, last_seen_at, id);
CREATE INDEX hosts_first_seen ON hosts(tenant_id, first_seen_at, id);
CREATE INDEX hosts_created ON hosts(tenant_id, created_at, id);
-- Labels, once more, one row each: hosts.labels is what is shown, this
-- is what label filters search (a JSON scan of every host was too slow
-- at 100,000 hosts).  Kept equal to hosts.labels by lib/hosts.c.
CREATE TABLE host_labels (
	tenant_id TEXT NOT NULL,
	host_id TEXT NOT NULL,
	label TEXT NOT NULL,
	PRIMARY KEY (tenant_id, label, host_id),
	FOREIGN KEY (tenant_id, host_id) REFERENCES hosts(tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX host_labels_host ON host_labels(tenant_id, host_id);

CREATE TABLE cases (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	title TEXT NOT NULL,
	description TEXT,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','in_progress','closed')),
	severity TEXT NOT NULL DEFAULT 'medium' CHECK (severity IN ('low','medium','high','critical')),
	assignee TEXT,
	tags TEXT NOT NULL DEFAULT '[]',
	resolution TEXT,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	closed_at INTEGER,
	UNIQUE (tenant_id, id)
);
CREATE INDEX cases_status ON cases(tenant_id, status, created_at);

-- The case timeline: append-only.
CREATE TABLE case_notes (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL,
	case_id TEXT NOT NULL,
	author_id TEXT,
	author TEXT,
	kind TEXT NOT NULL DEFAULT 'note',
	body TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX case_notes_case ON case_notes(tenant_id, case_id, id);
CREATE TRIGGER case_notes_no_update BEFORE UPDATE ON case_notes
BEGIN
	SELECT RAISE(ABORT, 'case notes are append-only');
END;

CREATE TABLE case_links (
	tenant_id TEXT NOT NULL,
	case_id TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('host','artifact')),
	target_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, case_id, kind, target_id),
	FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX case_links_target ON case_links(tenant_id, kind, target_id);

CREATE TABLE artifacts (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name TEXT NOT NULL,
	host_id TEXT,
	case_id TEXT,
	flow_id TEXT,
	hunt_id TEXT,
	source TEXT NOT NULL DEFAULT 'import',
	state TEXT NOT NULL DEFAULT 'importing' CHECK (state IN ('importing','complete','failed')),
	row_count INTEGER NOT NULL DEFAULT 0,
	bad_rows INTEGER NOT NULL DEFAULT 0,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (tenant_id, id),
	-- Composite keys keep links inside one tenant.  (No ON DELETE SET
	-- NULL: it would null tenant_id too; deletes unlink explicitly.)
	FOREIGN KEY (tenant_id, host_id) REFERENCES hosts(tenant_id, id),
	FOREIGN KEY (tenant_id, case_id) REFERENCES cases(tenant_id, id)
);
CREATE INDEX artifacts_name ON artifacts(tenant_id, name, created_at);
CREATE INDEX artifacts_host ON artifacts(tenant_id, host_id);
CREATE INDEX artifacts_case ON artifacts(tenant_id, case_id);

-- Rows keep their original columns as JSON text.
CREATE TABLE artifact_rows (
	id INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	artifact_id TEXT NOT NULL,
	host_id TEXT,
	data TEXT NOT NULL,
	FOREIGN KEY (tenant_id, artifact_id) REFERENCES artifacts(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX artifact_rows_artifact ON artifact_rows(artifact_id, id);
CREATE INDEX artifact_rows_host ON artifact_rows(host_id) WHERE host_id IS NOT NULL;

-- migration: 3
-- Velociraptor (issue 4).  One API client config per tenant; its private
-- key is sealed with the installation key (lib/token.c, associated data
-- "TENANT|velociraptor|client_private_key"), never stored in clear.
CREATE TABLE velociraptor_configs (
	tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
	name TEXT,
	host TEXT NOT NULL,
	port INTEGER NOT NULL,
	pinned_name TEXT NOT NULL,
	ca_pem TEXT NOT NULL,
	cert_pem TEXT NOT NULL,
	key_sealed TEXT NOT NULL,
	cert_fingerprint TEXT NOT NULL,
	cert_not_after INTEGER NOT NULL,
	org_id TEXT,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- Idempotency keys of scheduled hunts: a cron rerun with the same key
-- gets the hunt it started before instead of a second one.
CREATE TABLE hunt_requests (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	idem_key TEXT NOT NULL,
	hunt_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, idem_key)
);

-- Failed logins per name (known or not, lower-cased): after 5 in a row
-- a login waits 2^(n-5) s, at most 15 min (security.md section 6).
-- Delays, never a permanent lock: that would let anyone lock anyone out.
CREATE TABLE auth_throttle (
	name TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	last_failure_at INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0
);

-- Indicators of compromise (issue 5), per tenant.  value is normalised:
-- lower case for hashes, domains, file names and paths; canonical text
-- for addresses and networks.
CREATE TABLE iocs (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	type TEXT NOT NULL CHECK (type IN ('sha256','sha1','md5','ip','cidr','domain','filename','path')),
	value TEXT NOT NULL,
	severity TEXT NOT NULL DEFAULT 'high' CHECK (severity IN ('low','medium','high','critical')),
	source TEXT,
	description TEXT,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	UNIQUE (tenant_id, type, value)
);

-- Stored scores (vc-score analyze): every analysis is kept, with the
-- model version, so scores can be compared over time.
CREATE TABLE threat_scores (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	subject_type TEXT NOT NULL CHECK (subject_type IN ('host','artifact')),
	subject_id TEXT NOT NULL,
	score_milli INTEGER NOT NULL,
	confidence_milli INTEGER NOT NULL,
	classification TEXT NOT NULL,
	indicators TEXT NOT NULL,
	rows_scored INTEGER NOT NULL,
	rows_flagged INTEGER NOT NULL,
	model_version TEXT NOT NULL,
	created_by TEXT,
	created_at INTEGER NOT NULL
);
CREATE INDEX threat_scores_tenant ON threat_scores(tenant_id, created_at);
CREATE INDEX threat_scores_subject ON threat_scores(tenant_id, subject_type, subject_id, created_at);

-- migration: 4
-- Who is importing an artifact: "BOOT_ID:PID" of the process writing its
-- rows, so that an import whose process died (kill -9, a crash) shows as
-- interrupted rather than importing forever.
ALTER TABLE artifacts ADD COLUMN importer TEXT;

-- migration: 5
-- Which Velociraptor artifacts a tenant's analysts may collect (issue 9).
-- A tenant without a row in collect_policies never set a list: the
-- built-in default of lib/allowlist.c applies.  Admins collect anything.
-- Names are exact (case-sensitive, as Velociraptor's), never patterns.
CREATE TABLE collect_policies (
	tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
	updated_by TEXT,
	updated_at INTEGER NOT NULL
);
CREATE TABLE collect_allowlist (
	tenant_id TEXT NOT NULL REFERENCES collect_policies(tenant_id),
	artifact TEXT NOT NULL,
	added_by TEXT,
	added_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, artifact)
);

-- migration: 6
-- TOTP second factor (issue 11, security.md section 4).  totp_secret is
-- the 20-byte RFC 6238 seed sealed with vc_secret_seal, associated data
-- "TENANT_ID|USER_ID|totp"; it is set by 2fa setup and counts only once
-- totp_enabled_at is set (2fa verify).  totp_last_step is the newest
-- 30 s step a code was accepted for: a code of that step or an older one
-- is a replay and refused.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
-- Users of a tenant that requires 2FA and have none may log in only to
-- set it up (an enrolment session).  API tokens are not affected.
ALTER TABLE tenants ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;
-- Single-use recovery codes, ten per setup, stored as SHA-256 of
-- "TENANT|USER|code".  Each is 80 random bits, so a fast hash cannot be
-- searched (no dictionary, 2^80 guesses); it is on no installation key,
-- so that retiring a key never voids a code kept on paper.
CREATE TABLE recovery_codes (
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	used_at INTEGER,
	PRIMARY KEY (tenant_id, user_id, code_hash),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);

-- migration: 7
-- Indexed host search (issue 10).  A trigram index over hostname and
-- fqdn answers substring filters of 3 characters or more and their
-- counts; shorter ones scan.  External content: the text stays in hosts
-- alone, keyed by its rowid.  lib/hosts.c and lib/artifacts.c keep it in
-- step wherever hosts are written (triggers cannot: a trigger may not
-- use a virtual table while trusted_schema is off, and it is).  A VACUUM
-- may renumber the rowids of hosts: rebuild the index after one.
CREATE VIRTUAL TABLE hosts_search USING fts5(hostname, fqdn, content='hosts',
	content_rowid='rowid', tokenize='trigram');
INSERT INTO hosts_search (hosts_search) VALUES ('rebuild');

-- The fields vc-score stacks on most, copied out of artifact_rows.data at
-- import (lib/artifacts.c) so that stacking stored rows reads columns,
-- not JSON: a string as its text, any other value as "\x02" and its JSON
-- text, NULL when absent or null.  stack_name has an index for a grouped
-- index scan per artifact (without host_id: an import then appends to
-- each name's run of the index instead of writing all over it); the
-- others are read from the table.
ALTER TABLE artifact_rows ADD COLUMN stack_name TEXT;
ALTER TABLE artifact_rows ADD COLUMN stack_exe TEXT;
ALTER TABLE artifact_rows ADD COLUMN stack_cmdline TEXT;
ALTER TABLE artifact_rows ADD COLUMN stack_user TEXT;
ALTER TABLE artifact_rows ADD COLUMN stack_sha256 TEXT;
-- Rows stored before this migration: stack_typed = 0, read as JSON.
ALTER TABLE artifact_rows ADD COLUMN stack_typed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX artifact_rows_stack_name ON artifact_rows(tenant_id, artifact_id, stack_name)
	WHERE stack_typed = 1;

-- The commonest host list, one os sorted by hostname (the default sort),
-- walks this index in order and tests a search text against the
-- hostname in it, reading a host's row only for the page it shows.
CREATE INDEX hosts_os_hostname ON hosts(tenant_id, os, hostname, id);

-- migration: 8
-- Mail (issue 11): the installation's SMTP transport, password reset and
-- email verification, and the outbox that delivers mail after the
-- answer.  One transport for the installation (id is always 1); its
-- password is sealed (lib/crypto, associated data "|smtp|password").
CREATE TABLE smtp_config (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	url TEXT NOT NULL,
	from_addr TEXT NOT NULL,
	username TEXT,
	password TEXT,
	insecure_plaintext INTEGER NOT NULL DEFAULT 0,
	ca_pem TEXT,
	link_base TEXT,
	updated_by TEXT,
	updated_at INTEGER NOT NULL
);
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
ALTER TABLE tenants ADD COLUMN require_verified_email INTEGER NOT NULL DEFAULT 0;
-- Single-use tokens mailed to a user: only their SHA-256 is kept.
-- purpose 'reset' (1 hour) or 'verify' (24 hours, for the address in
-- email: a changed address needs a new token).  The rows also count the
-- reset mails an account got in the last hour (the per-account limit).
CREATE TABLE auth_tokens (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	purpose TEXT NOT NULL CHECK (purpose IN ('reset','verify')),
	token_hash TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER,
	ip TEXT,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
);
CREATE INDEX auth_tokens_user ON auth_tokens(tenant_id, user_id, purpose, created_at);
-- The outbox: what is to be delivered after the transaction that made it
-- commits, retried with exponential backoff.  kind says how ('mail':
-- recipient, subject, body_text, body_html; later kinds may keep their
-- message in payload, JSON).  A deliverer claims a row (claimed_until)
-- in a short transaction before it talks to the peer, so that two of
-- them never send one message twice.  Bodies are dropped once sent.
CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	kind TEXT NOT NULL,
	recipient TEXT NOT NULL,
	subject TEXT,
	body_text TEXT,
	body_html TEXT,
	payload TEXT,
	created_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claimed_until INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	sent_at INTEGER,
	expires_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(kind, sent_at, next_attempt_at);

-- migration: 9
-- The event log (issue 12): operations that matter append one row in the
-- transaction of their change (lib/events.c).  id only grows (AUTOINCREMENT
-- never reuses an id), so a reader's cursor is the last id it saw.
-- body is JSON text.
CREATE TABLE events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	type TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE INDEX events_tenant ON events(tenant_id, id);

-- Notification rules: an event of a type matching on_type (a GLOB) whose
-- body passes when_jq (a caller's jq program, run under json/jqprog.h's
-- limits; NULL: always) becomes a notification for target.  Evaluated
-- when the event is emitted, in its transaction.
CREATE TABLE notify_rules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	on_type TEXT NOT NULL,
	when_jq TEXT,
	target TEXT NOT NULL,
	created_by TEXT,
	created_at INTEGER NOT NULL
);
CREATE INDEX notify_rules_tenant ON notify_rules(tenant_id);

-- Notifications for one user (user_id) or for every user of the tenant
-- whose role is at least min_role (role:NAME).  Read state is per user
-- (notification_reads), so a role-wide notice is read by each reader.
-- id only grows: a WebSocket client replays from the last id it saw.
CREATE TABLE notifications (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	target TEXT NOT NULL,
	user_id TEXT,
	min_role INTEGER,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	event_id INTEGER REFERENCES events(id),
	rule_id INTEGER,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	CHECK ((user_id IS NULL) <> (min_role IS NULL))
);
CREATE INDEX notifications_tenant ON notifications(tenant_id, id);
CREATE TABLE notification_reads (
	tenant_id TEXT NOT NULL,
	notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	read_at INTEGER NOT NULL,
	PRIMARY KEY (notification_id, user_id)
);

-- Delivery channels: each reads the tenant's event log with a durable
-- cursor (the last event id it delivered), so a forwarder that stops
-- resumes where it was.  Delivery is at least once: every event carries
-- its id for the receiver to drop a repeat.  kind file: JSON Lines
-- appended to target (an absolute path); webhook: a batch POSTed to
-- target, signed with HMAC-SHA256 under the sealed secret.
CREATE TABLE notify_channels (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('file','webhook')),
	target TEXT NOT NULL,
	types TEXT NOT NULL DEFAULT '*',
	secret_sealed TEXT,
	cursor INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	delivered_at INTEGER,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	UNIQUE (tenant_id, name)
);

-- migration: 10
-- Bounds of hostnames by trigram (issue 10): per tenant, for each
-- trigram (ASCII letters lowered, as LIKE folds them) the least and the
-- greatest hostname holding it.  A host whose name contains a text
-- contains each of its trigrams, so its name lies within every one of
-- their bounds: a list sorted by hostname with a common substring filter
-- walks the sort's index between them, not from the first name on (a
-- text clustered late in the order, "fin" after every "eng-*", cost a
-- walk over thousands of hosts a page).  lib/hosts.c widens the bounds
-- where it keeps hosts_search; a rename or a deleted host leaves them
-- wider than need be, never too narrow.
CREATE TABLE host_tri_bounds (
	tenant_id TEXT NOT NULL,
	tri TEXT NOT NULL,
	lo TEXT NOT NULL COLLATE NOCASE,
	hi TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (tenant_id, tri)
) WITHOUT ROWID;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 253)
INSERT INTO host_tri_bounds (tenant_id, tri, lo, hi)
	SELECT h.tenant_id, lower(substr(h.hostname, n.i, 3)), min(h.hostname), max(h.hostname)
	FROM hosts h JOIN n ON n.i <= length(h.hostname) - 2
	GROUP BY 1, 2;

-- migration: 11
-- Bursts of failed logins (auth.login_failed events), per tenant and per
-- account (scope 'user', subject the user id) or per source address
-- (scope 'addr'): failures counted in a fixed window from its first
-- failure; reported once the window's count reaches the threshold, so
-- a burst appends one event, not one per failure.  Rows of closed
-- windows are deleted by the next failure of their tenant.
CREATE TABLE auth_fail_bursts (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	scope TEXT NOT NULL CHECK (scope IN ('user','addr')),
	subject TEXT NOT NULL,
	window_start INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	reported INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, scope, subject)
);
-- Pruning the event log by age, per tenant; a tenant's own retention
-- (seconds; NULL: the installation's, vc-serve --event-retention or 30
-- days).
CREATE INDEX events_tenant_time ON events(tenant_id, created_at);
ALTER TABLE tenants ADD COLUMN event_retention_s INTEGER;

-- migration: 12
-- SIEM channels (issue 12): kinds splunk-hec (HTTP Event Collector),
-- elastic (_bulk, ECS field names), syslog (RFC 5424 over UDP, TCP or
-- TLS) and email (a mail a batch, through the outbox) join file and
-- webhook.  SQLite cannot change a
-- CHECK in place, so the table is rebuilt with its rows and ids kept
-- (nothing refers to it yet).  New columns: batch (events a delivery
-- carries at most), max_failures (failed deliveries in a row of the
-- event at the cursor before it goes to notify_dead; 0: never) and
-- index_name (the Elasticsearch index, the Splunk index; NULL: the
-- receiver's default), format (a syslog message's body, json or cef; a
-- webhook's payload, json or a chat's: slack, teams, mattermost) and
-- source: what the channel reads, the event log or the tenant's audit
-- chain (its records with their hashes; the cursor is then an audit id);
-- when_jq, a caller's jq condition on an event's body (json/jqprog.h's
-- limits; NULL: every event): the events it refuses are passed over;
-- ca_pem, the CA certificates (PEM) an https or tls:// receiver is
-- checked against instead of the system's.  failures now counts the failures in a row at the
-- current cursor.
CREATE TABLE notify_channels_v10 (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('file','webhook','splunk-hec','elastic','syslog','email')),
	target TEXT NOT NULL,
	types TEXT NOT NULL DEFAULT '*',
	secret_sealed TEXT,
	cursor INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	delivered_at INTEGER,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	batch INTEGER NOT NULL DEFAULT 100 CHECK (batch BETWEEN 1 AND 10000),
	max_failures INTEGER NOT NULL DEFAULT 5 CHECK (max_failures >= 0),
	index_name TEXT,
	format TEXT CHECK (format IN ('json','cef','slack','teams','mattermost')),
	source TEXT NOT NULL DEFAULT 'events' CHECK (source IN ('events','audit')),
	when_jq TEXT,
	ca_pem TEXT,
	UNIQUE (tenant_id, name)
);
INSERT INTO notify_channels_v10 (id, tenant_id, name, kind, target, types, secret_sealed, cursor,
	failures, last_error, delivered_at, created_by, created_at)
	SELECT id, tenant_id, name, kind, target, types, secret_sealed, cursor, failures, last_error,
	delivered_at, created_by, created_at FROM notify_channels;
-- Ids are never reused: the new table carries on from the old one's.
DELETE FROM sqlite_sequence WHERE name = 'notify_channels_v10';
INSERT INTO sqlite_sequence (name, seq)
	SELECT 'notify_channels_v10', seq FROM sqlite_sequence WHERE name = 'notify_channels';
DROP TABLE notify_channels;
ALTER TABLE notify_channels_v10 RENAME TO notify_channels;

-- The dead-letter list: an event a channel failed to deliver
-- max_failures times in a row, set aside so that the cursor moves on.
-- vc-notify dead retry delivers it again and removes it once taken.
-- event_id is not a reference: the log may be pruned before a retry.
CREATE TABLE notify_dead (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	channel_id INTEGER NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
	event_id INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	last_error TEXT,
	created_at INTEGER NOT NULL,
	retried_at INTEGER,
	UNIQUE (channel_id, event_id)
);
CREATE INDEX notify_dead_tenant ON notify_dead(tenant_id, id);

-- migration: 13
-- Playbooks (vc-playbook).  A playbook's document is kept as normalised
-- JSON, one row a version (never changed once written); the playbook row
-- names the current version.  A deleted playbook keeps its versions and
-- executions (deleted_at set), so history stays readable.
CREATE TABLE playbooks (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	trigger_type TEXT NOT NULL CHECK (trigger_type IN ('manual','event','scheduled')),
	enabled INTEGER NOT NULL DEFAULT 1,
	next_run_at INTEGER,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER,
	UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX playbooks_name ON playbooks(tenant_id, name) WHERE deleted_at IS NULL;
CREATE TABLE playbook_versions (
	tenant_id TEXT NOT NULL,
	playbook_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	doc TEXT NOT NULL,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (playbook_id, version),
	FOREIGN KEY (tenant_id, playbook_id) REFERENCES playbooks(tenant_id, id)
);
-- One execution of a playbook version.  steps holds a record a step:
-- its status (pending, running, succeeded, failed, skipped, waiting),
-- resolved parameters, output, error, attempts and times.  idem_key
-- ("event:ID", "cron:TIME") makes a trigger run a version at most once,
-- whichever process gets there first: the second insert fails.
CREATE TABLE playbook_executions (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	playbook_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('running','succeeded','failed',
	    'pending_approval','cancelled','expired')),
	trigger TEXT NOT NULL,
	idem_key TEXT,
	event_id INTEGER,
	event TEXT,
	steps TEXT NOT NULL,
	actor TEXT,
	error TEXT,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	finished_at INTEGER,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, playbook_id) REFERENCES playbooks(tenant_id, id)
);
CREATE UNIQUE INDEX playbook_executions_once ON playbook_executions(tenant_id, playbook_id,
    version, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX playbook_executions_list ON playbook_executions(tenant_id, playbook_id, created_at);
-- The last event each tenant's event triggers looked at (vc-playbook due).
CREATE TABLE playbook_cursors (
	tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
	cursor INTEGER NOT NULL DEFAULT 0,
	lease_until INTEGER NOT NULL DEFAULT 0,
	lease_holder TEXT
);
-- The tenant's blocklist: addresses and networks for a firewall to drop
-- (vc-playbook blocklist export).  lo/hi are net.h keys of the range.
CREATE TABLE blocklist (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	network TEXT NOT NULL,
	lo BLOB NOT NULL,
	hi BLOB NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	source_execution TEXT,
	expires_at INTEGER,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	UNIQUE (tenant_id, network)
);

-- migration: 14
-- Report templates of a tenant (issue 14; the built-in ones live in the
-- library).  manifest is the template's JSON, layout its HTML in the
-- layout language of lib/report/tmpl.h; adding a template again under
-- its name makes its next version, which reports record.
CREATE TABLE report_templates (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	manifest TEXT NOT NULL,
	layout TEXT NOT NULL,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
);
-- Reports asked for over HTTP: vc-serve's report thread renders them as
-- the user who asked (state pending -> running -> done | failed) into a
-- file under the report directory (beside the store, or $VC_REPORT_DIR),
-- and removes each after its tenant's report_retention_days.
CREATE TABLE reports (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	template TEXT NOT NULL,
	format TEXT NOT NULL,
	request TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','running','done','failed')),
	reason TEXT,
	sha256 TEXT,
	size INTEGER,
	file TEXT,
	requested_by TEXT NOT NULL,
	requested_by_name TEXT,
	claimed_until INTEGER,
	created_at INTEGER NOT NULL,
	started_at INTEGER,
	finished_at INTEGER,
	UNIQUE (tenant_id, id)
);
CREATE INDEX reports_tenant ON reports(tenant_id, created_at);
CREATE INDEX reports_state ON reports(state, created_at);
ALTER TABLE tenants ADD COLUMN report_retention_days INTEGER NOT NULL DEFAULT 30;

-- migration: 15
-- Each CSV file vc-report wrote (issue 14): a CSV has no place for the
-- inputs and data hash the other formats carry inside, so
-- `vc-report verify FILE.csv` finds them here by the SHA-256 of the
-- file's bytes, wherever the file went and whatever it is called; name
-- (the file's name as written, or as downloaded) only tells a modified
-- file from an unknown one.  table_name is the table, or 'appendix'.
CREATE TABLE report_files (
	id INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	file_sha256 TEXT NOT NULL,
	name TEXT NOT NULL,
	table_name TEXT NOT NULL,
	inputs TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	size INTEGER NOT NULL,
	report_id TEXT,
	created_by TEXT,
	created_at INTEGER NOT NULL
);
CREATE INDEX report_files_sha ON report_files(file_sha256, tenant_id);
CREATE INDEX report_files_name ON report_files(tenant_id, name, created_at);

-- migration: 16
-- A host's quarantine (vc-playbook isolate_host, unisolate_host): set only
-- once Velociraptor confirmed the policy was applied, by the execution
-- that ran it; released_at is set once it confirmed the policy removed.
-- A host is quarantined while quarantined_at is set and released_at is
-- not; both stay afterwards as the record of the last quarantine.
ALTER TABLE hosts ADD COLUMN quarantined_at INTEGER;
ALTER TABLE hosts ADD COLUMN quarantined_by TEXT;
ALTER TABLE hosts ADD COLUMN released_at INTEGER;
ALTER TABLE hosts ADD COLUMN released_by TEXT;
CREATE INDEX hosts_quarantined ON hosts(tenant_id, quarantined_at, id)
    WHERE quarantined_at IS NOT NULL AND released_at IS NULL;
-- A tenant's playbook settings: the quarantine artifact of each OS that
-- isolate_host and unisolate_host collect (NULL: Velociraptor's own
-- name, see vc-playbook(5)); a step's params.artifact still wins.
CREATE TABLE playbook_settings (
	tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
	quarantine_windows TEXT,
	quarantine_linux TEXT,
	quarantine_macos TEXT,
	updated_by TEXT,
	updated_at INTEGER NOT NULL
);

-- migration: 17
-- Rules that send to a channel, and one forwarder at a time a channel
-- (issue 12).  A rule "--to channel:NAME" marks the event it matched for
-- that channel, in the event's own transaction: a row of notify_sends.
-- The channel delivers the events of its own filter (--type, --when) and
-- those marked for it, one cursor over event ids for both (the mark is
-- committed with its event, so a cursor past an event is past its mark);
-- rules_only = 1 (vc-notify channel add --source rules) delivers the
-- marked ones only.  Nothing is sent in the transaction that matched a
-- rule: the forwarder sends, as for any event of the channel.  event_id
-- is not a reference (the log may be pruned; never past a channel's
-- cursor), and the marks at or below a channel's cursor are dropped as
-- it moves.
-- lease_holder and lease_until: the forwarder delivering the channel
-- now (vc-serve's thread, a vc-notify forward) and until when (unix
-- seconds) its claim holds; another forwarder leaves the channel alone
-- until then, so two of them do not send the same batch.  A forwarder
-- that dies leaves a claim that lapses.
ALTER TABLE notify_channels ADD COLUMN rules_only INTEGER NOT NULL DEFAULT 0
	CHECK (rules_only IN (0, 1));
ALTER TABLE notify_channels ADD COLUMN lease_holder TEXT;
ALTER TABLE notify_channels ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE TABLE notify_sends (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	channel_id INTEGER NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
	event_id INTEGER NOT NULL,
	rule_id INTEGER,
	PRIMARY KEY (channel_id, event_id)
) WITHOUT ROWID;

-- migration: 18
-- A file mailed with a notification (vc-notify send --to channel:NAME
-- --attach FILE, a channel of kind email): read when it is sent, kept
-- here with the event it goes with and the channel it is for, in the
-- event's transaction.  The channel's forwarder queues the event as a
-- mail of its own with the file (its bytes copied to the outbox row, in
-- the transaction that moves the cursor); the row goes with the event's
-- mark as the cursor moves past it, or with the channel.  name is the
-- file's base name, sanitised; content_type by its extension; sha256 of
-- data, which is at most 10 MiB.  The audit log has name, size and
-- sha256, never data.
-- The outbox keeps one file a mail (attach_*), dropped once sent with
-- the bodies.
CREATE TABLE notify_files (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	channel_id INTEGER NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
	event_id INTEGER NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	data BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (channel_id, event_id)
) WITHOUT ROWID;
ALTER TABLE outbox ADD COLUMN attach_name TEXT;
ALTER TABLE outbox ADD COLUMN attach_type TEXT;
ALTER TABLE outbox ADD COLUMN attach_data BLOB;

-- migration: 19
-- Playbook executions claimed by the process running them (issue 16),
-- so that any instance may go on with one whose process died: claimed_by
-- names the runner (TOOL@HOST:PID:RANDOM), claimed_until (unix seconds)
-- is when its claim lapses.  The runner holds it for the step under way
-- (its timeout times its tries, with their backoff, and a margin) and
-- writes every record of the execution only while the claim is its own;
-- a waiting (pending_approval) or finished execution holds none.  A
-- running execution whose claim lapsed is taken over (vc-playbook due
-- --run, vc-serve's scheduler) and goes on from the step it had reached.
ALTER TABLE playbook_executions ADD COLUMN claimed_by TEXT;
ALTER TABLE playbook_executions ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX playbook_executions_lapsed ON playbook_executions(tenant_id, claimed_until)
    WHERE status = 'running';

-- migration: 20
-- PostgreSQL only (schema-pg.sql): a lower-cased key of each hostname,
-- so that a lookup, a sort and a bounded walk by hostname are index
-- scans there under row-level security.  Here the NOCASE column and its
-- indexes do that already; nothing changes.

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

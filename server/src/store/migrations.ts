/**
 * The one migration history, in order, written in SQLite's SQL. SQLite applies it as written (db.ts: the database's
 * user_version says how many have been applied); PostgreSQL applies each one translated by postgres-schema.ts, which
 * refuses what it cannot translate. Append new migrations at the end; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE attempts (
    id                 TEXT PRIMARY KEY,
    exercise_id        TEXT NOT NULL,
    state              TEXT NOT NULL,
    token_hash         TEXT NOT NULL,
    time_limit_seconds INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    started_at         INTEGER,
    deadline           INTEGER,
    ended_at           INTEGER,
    end_reason         TEXT,
    sandbox_id         TEXT,
    sandbox_status     TEXT NOT NULL,
    recording_path     TEXT,
    failure            TEXT,
    updated_at         INTEGER NOT NULL
  );
  CREATE INDEX attempts_state ON attempts(state);
  CREATE TABLE attempt_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT
  );
  CREATE INDEX attempt_events_attempt ON attempt_events(attempt_id, id);
  `,
  `
  ALTER TABLE attempts ADD COLUMN seed TEXT;
  ALTER TABLE attempts ADD COLUMN params TEXT;
  ALTER TABLE attempts ADD COLUMN hints_revealed INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE grading_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    attempt_id  TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    score       INTEGER NOT NULL,
    max_score   INTEGER NOT NULL,
    results     TEXT NOT NULL,
    cleanroom   TEXT NOT NULL DEFAULT '[]',
    error       TEXT
  );
  CREATE INDEX grading_runs_attempt ON grading_runs(attempt_id, id);
  `,
  `
  ALTER TABLE attempts ADD COLUMN mode TEXT NOT NULL DEFAULT 'practice';
  ALTER TABLE attempts ADD COLUMN invite_id TEXT;
  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'interviewer')),
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    created_by    TEXT,
    disabled_at   INTEGER
  );
  CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('setup', 'activate')),
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
  );
  CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
  );
  CREATE INDEX sessions_user ON sessions(user_id);
  CREATE TABLE invites (
    id                 TEXT PRIMARY KEY,
    token_hash         TEXT NOT NULL UNIQUE,
    exercise_id        TEXT NOT NULL,
    candidate_name     TEXT NOT NULL,
    candidate_email    TEXT NOT NULL,
    time_limit_seconds INTEGER NOT NULL,
    show_feedback      INTEGER NOT NULL,
    note               TEXT,
    created_by         TEXT NOT NULL REFERENCES users(id),
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    attempt_id         TEXT REFERENCES attempts(id) ON DELETE SET NULL
  );
  CREATE INDEX invites_created ON invites(created_at);
  CREATE TABLE reviews (
    attempt_id     TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    reviewer_id    TEXT NOT NULL REFERENCES users(id),
    ratings        TEXT NOT NULL,
    recommendation TEXT,
    summary        TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, reviewer_id)
  );
  CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    user_id    TEXT,
    action     TEXT NOT NULL,
    attempt_id TEXT,
    invite_id  TEXT,
    detail     TEXT
  );
  CREATE INDEX audit_log_at ON audit_log(at);
  `,
  `
  ALTER TABLE attempts ADD COLUMN feedback INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX attempts_invite ON attempts(invite_id);
  `,
  `
  ALTER TABLE attempts ADD COLUMN owner_hash TEXT;
  CREATE INDEX attempts_owner ON attempts(owner_hash);
  `,
  `
  ALTER TABLE grading_runs ADD COLUMN exercise_version TEXT;
  ALTER TABLE grading_runs ADD COLUMN source TEXT;
  ALTER TABLE grading_runs ADD COLUMN requested_by TEXT;
  `,
  `
  ALTER TABLE invites ADD COLUMN claimed_at INTEGER;
  UPDATE invites SET claimed_at = created_at WHERE attempt_id IS NOT NULL;
  `,
  `
  CREATE TABLE check_confirmations (
    attempt_id     TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    check_id       TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    comment        TEXT NOT NULL DEFAULT '',
    grader_verdict TEXT NOT NULL,
    grading_run_id INTEGER NOT NULL,
    confirmed_by   TEXT NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, check_id)
  );
  `,
  `
  CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_by   TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    revoked_by   TEXT
  );
  CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL;
  ALTER TABLE audit_log ADD COLUMN actor TEXT;
  `,
  `
  CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE webhook_deliveries (
    id           TEXT PRIMARY KEY,
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    body         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    tries        INTEGER NOT NULL DEFAULT 0,
    last_status  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    last_try_at  INTEGER,
    next_try_at  INTEGER,
    delivered_at INTEGER
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_try_at);
  CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);
  `,
  `
  ALTER TABLE invites ADD COLUMN exercise_version TEXT;
  ALTER TABLE attempts ADD COLUMN exercise_version TEXT;
  `,
  `
  ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
  ALTER TABLE users ADD COLUMN oidc_subject TEXT;
  CREATE UNIQUE INDEX users_oidc ON users(oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;
  CREATE TABLE oidc_logins (
    state_hash    TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
  );
  `,
  `
  CREATE TABLE exercise_publications (
    exercise_id  TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    version      TEXT NOT NULL,
    published_at INTEGER NOT NULL
  );
  CREATE TABLE exercise_publish_failures (
    exercise_id  TEXT NOT NULL,
    version      TEXT NOT NULL,
    source       TEXT NOT NULL,
    commit_sha   TEXT NOT NULL,
    stage        TEXT NOT NULL,
    problems     TEXT NOT NULL,
    failed_at    INTEGER NOT NULL,
    PRIMARY KEY (exercise_id, version)
  );
  `,
  `
  ALTER TABLE invites ADD COLUMN file_upload INTEGER;
  ALTER TABLE invites ADD COLUMN file_download INTEGER;
  `,
  `
  ALTER TABLE attempts ADD COLUMN owner TEXT;
  ALTER TABLE attempts ADD COLUMN owner_epoch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE attempts ADD COLUMN lease_until INTEGER;
  CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    boot       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    reserved   INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE named_leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  -- One final grading per attempt from now on (regrades, which name who asked, aside). A second one stored before
  -- (none should exist) is kept, as a regrade asked for by nobody in particular.
  UPDATE grading_runs SET requested_by = '(second final grading)'
   WHERE kind = 'final' AND requested_by IS NULL
     AND id NOT IN (SELECT MIN(id) FROM grading_runs WHERE kind = 'final' AND requested_by IS NULL GROUP BY attempt_id);
  CREATE UNIQUE INDEX grading_runs_one_final ON grading_runs(attempt_id) WHERE kind = 'final' AND requested_by IS NULL;
  `,
];

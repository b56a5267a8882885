/**
 * The schema of the sync state, as migrations. One DDL for SQLite, PostgreSQL and SQL Server:
 * only the column types differ (SQL Server cannot index TEXT, so keys are VARCHAR and long text
 * is NVARCHAR(MAX)); times are epoch milliseconds in BIGINT everywhere.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { copyKey } from "./SyncPlanner.js"

interface Types {
  readonly key: string
  readonly text: string
  readonly int: string
  readonly time: string
}

export const sqlServerTypes: Types = {
  key: "NVARCHAR(64)",
  text: "NVARCHAR(MAX)",
  int: "INT",
  time: "BIGINT"
}

const typesFor = (sql: SqlClient.SqlClient): Types =>
  sql.onDialectOrElse({
    mssql: () => sqlServerTypes,
    orElse: () => ({ key: "VARCHAR(64)", text: "TEXT", int: "INTEGER", time: "BIGINT" })
  })

/** The statements of the first migration, also used to check the SQL Server DDL without a server. */
export const initialStatements = (t: Types): ReadonlyArray<string> => [
  `CREATE TABLE accounts (
    id ${t.key} NOT NULL PRIMARY KEY,
    kind ${t.key} NOT NULL,
    url ${t.text} NOT NULL,
    username ${t.text},
    secret ${t.text},
    status ${t.key} NOT NULL,
    created_at ${t.time} NOT NULL
  )`,
  `CREATE TABLE calendars (
    id ${t.key} NOT NULL PRIMARY KEY,
    account_id ${t.key} NOT NULL,
    url ${t.text} NOT NULL,
    display_name ${t.text},
    cursor_value ${t.text},
    polls ${t.int} NOT NULL,
    last_poll_at ${t.time},
    last_success_at ${t.time},
    last_reconcile_at ${t.time},
    last_error ${t.text},
    halted ${t.text}
  )`,
  `CREATE TABLE relationships (
    id ${t.key} NOT NULL PRIMARY KEY,
    source_calendar_id ${t.key} NOT NULL,
    target_calendar_id ${t.key} NOT NULL,
    pair_id ${t.key},
    policy ${t.text} NOT NULL,
    window_past_days ${t.int},
    window_future_days ${t.int},
    paused ${t.int} NOT NULL,
    created_at ${t.time} NOT NULL
  )`,
  `CREATE INDEX relationships_source ON relationships (source_calendar_id)`,
  `CREATE INDEX relationships_target ON relationships (target_calendar_id)`,
  `CREATE TABLE links (
    relationship_id ${t.key} NOT NULL,
    source_key ${t.key} NOT NULL,
    source_uid ${t.text} NOT NULL,
    source_href ${t.text} NOT NULL,
    source_etag ${t.text} NOT NULL,
    target_href ${t.text} NOT NULL,
    target_etag ${t.text} NOT NULL,
    content_hash ${t.key} NOT NULL,
    sequence_number ${t.int} NOT NULL,
    updated_at ${t.time} NOT NULL,
    PRIMARY KEY (relationship_id, source_key)
  )`,
  `CREATE TABLE quarantine (
    calendar_id ${t.key} NOT NULL,
    href_key ${t.key} NOT NULL,
    href ${t.text} NOT NULL,
    etag ${t.text} NOT NULL,
    reason ${t.text} NOT NULL,
    seen_at ${t.time} NOT NULL,
    PRIMARY KEY (calendar_id, href_key)
  )`,
  `CREATE TABLE conflicts (
    id ${t.key} NOT NULL PRIMARY KEY,
    relationship_id ${t.key} NOT NULL,
    source_uid ${t.text} NOT NULL,
    target_href ${t.text} NOT NULL,
    detail ${t.text} NOT NULL,
    at ${t.time} NOT NULL
  )`,
  `CREATE TABLE sync_runs (
    id ${t.key} NOT NULL PRIMARY KEY,
    calendar_id ${t.key} NOT NULL,
    started_at ${t.time} NOT NULL,
    finished_at ${t.time} NOT NULL,
    outcome ${t.key} NOT NULL,
    summary ${t.text} NOT NULL
  )`,
  `CREATE INDEX sync_runs_calendar ON sync_runs (calendar_id, started_at)`
]

/**
 * The second migration: when each calendar's actor means to poll next. Databases migrated before
 * the server had migrations of its own ran a second migration that also created the server's
 * tables (users, tokens, bookings and the owner columns); the server's first migration creates
 * those where they are absent, so every database ends with the same schema.
 */
export const pollScheduleStatements = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE calendars ADD next_poll_at ${t.time}`
]

/**
 * The third migration: the provider port. Each link keeps the creation key its copy was written
 * under (Graph and Google turn it into their own ids; a retried create finds its copy by it).
 * Existing links get the key they were created with, computed here because SQL has no SHA-256
 * common to the three dialects.
 */
export const portStatements = (t: Types): ReadonlyArray<string> => [`ALTER TABLE links ADD copy_key ${t.key}`]

/**
 * The fourth migration: failed polls are recorded as such — when the last one failed and how many
 * failed in a row — so that the status can say "failing since" and a recovery can clear it.
 */
export const failureStatements = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE calendars ADD last_error_at ${t.time}`,
  `ALTER TABLE calendars ADD failures ${t.int} NOT NULL DEFAULT 0`
]

/** The conflict log is read and pruned per relationship, newest first (sync_runs has its index). */
export const historyStatements = (_: Types): ReadonlyArray<string> => [
  "CREATE INDEX conflicts_relationship ON conflicts (relationship_id, at)"
]

const LinkIdentity = Schema.Array(
  Schema.Struct({ relationship_id: Schema.String, source_uid: Schema.String })
)

const backfillKeys = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT relationship_id, source_uid FROM links`.pipe(
    Effect.flatMap(Schema.decodeUnknown(LinkIdentity)),
    Effect.orDie
  )
  for (const r of rows) {
    yield* sql`UPDATE links SET copy_key = ${copyKey(r.relationship_id, r.source_uid)}
      WHERE relationship_id = ${r.relationship_id} AND source_uid = ${r.source_uid}`
  }
})

const statementsOf = (statements: (t: Types) => ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements(typesFor(sql))) {
      yield* sql.unsafe(statement)
    }
  })

/** Every migration by id, in order. Applied ones are never edited: a change is a new migration. */
export const migrations = {
  "1_initial": statementsOf(initialStatements),
  "2_poll_schedule": statementsOf(pollScheduleStatements),
  "3_provider_port": Effect.zipRight(statementsOf(portStatements), backfillKeys),
  "4_poll_failures": statementsOf(failureStatements),
  "5_bounded_history": statementsOf(historyStatements)
}

export const loader = Migrator.fromRecord(migrations)

/** Runs the migrations that have not run yet. */
export const run = Migrator.make({})({ loader, table: "almanac_migrations" })

/**
 * The schema of the sync state, as migrations. One DDL for SQLite, PostgreSQL and SQL Server:
 * only the column types differ (SQL Server cannot index TEXT, so keys are VARCHAR and long text
 * is NVARCHAR(MAX)); times are epoch milliseconds in BIGINT everywhere.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"

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

const initial = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const statement of initialStatements(typesFor(sql))) {
    yield* sql.unsafe(statement)
  }
})

export const loader = Migrator.fromRecord({ "1_initial": initial })

/** Runs the migrations that have not run yet. */
export const run = Migrator.make({})({ loader, table: "almanac_migrations" })

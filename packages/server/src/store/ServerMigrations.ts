/**
 * The server's own migrations, beside the engine's (core's `StoreMigrations`). They keep their own
 * record table, so a migration added on either side never takes the other's number. The server
 * owns the people it serves: users, API tokens, bookings, and the owner of each account and
 * relationship (columns on the engine's rows that the engine never reads).
 */
import { StoreMigrations } from "@almanac/core"
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"

type Types = typeof StoreMigrations.sqlServerTypes

const typesFor = (sql: SqlClient.SqlClient): Types =>
  sql.onDialectOrElse({
    mssql: () => StoreMigrations.sqlServerTypes,
    orElse: () => ({ key: "VARCHAR(64)", text: "TEXT", int: "INTEGER", time: "BIGINT" })
  })

const statementsOf = (statements: (t: Types) => ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements(typesFor(sql))) yield* sql.unsafe(statement)
  })

/**
 * The people the server serves. Users and their API tokens (only a hash of each token is kept),
 * the owner and health of every account, the owner of every relationship, a calendar's colour,
 * and bookings with their idempotency keys. `ADD` without `COLUMN` is the one spelling SQLite,
 * PostgreSQL and SQL Server all accept.
 */
export const peopleStatements = (t: Types): ReadonlyArray<string> => [
  `CREATE TABLE users (
    id ${t.key} NOT NULL PRIMARY KEY,
    name ${t.text} NOT NULL,
    created_at ${t.time} NOT NULL
  )`,
  `CREATE TABLE api_tokens (
    id ${t.key} NOT NULL PRIMARY KEY,
    user_id ${t.key} NOT NULL,
    token_hash ${t.key} NOT NULL,
    label ${t.text} NOT NULL,
    created_at ${t.time} NOT NULL,
    last_used_at ${t.time}
  )`,
  `CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash)`,
  `CREATE INDEX api_tokens_user ON api_tokens (user_id)`,
  `ALTER TABLE accounts ADD user_id ${t.key}`,
  `ALTER TABLE accounts ADD display_name ${t.text}`,
  `ALTER TABLE accounts ADD last_error ${t.text}`,
  `CREATE INDEX accounts_user ON accounts (user_id)`,
  `ALTER TABLE calendars ADD color ${t.text}`,
  `ALTER TABLE relationships ADD user_id ${t.key}`,
  `CREATE INDEX relationships_user ON relationships (user_id)`,
  `CREATE TABLE bookings (
    id ${t.key} NOT NULL PRIMARY KEY,
    user_id ${t.key} NOT NULL,
    idempotency_key ${t.key} NOT NULL,
    request_hash ${t.key} NOT NULL,
    calendar_id ${t.key} NOT NULL,
    uid ${t.text} NOT NULL,
    href ${t.text},
    etag ${t.text},
    status ${t.key} NOT NULL,
    summary ${t.text} NOT NULL,
    start_at ${t.time} NOT NULL,
    end_at ${t.time} NOT NULL,
    created_at ${t.time} NOT NULL,
    updated_at ${t.time} NOT NULL
  )`,
  `CREATE UNIQUE INDEX bookings_idempotency ON bookings (user_id, idempotency_key)`
]

/** Whether a table exists, asked of each dialect's catalogue (a failed SELECT would abort a PostgreSQL transaction). */
const tableExists = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.onDialectOrElse({
      sqlite: () => sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${name}`,
      pg: () =>
        sql`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${name}`,
      orElse: () => sql`SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = ${name}`
    })
    return rows.length > 0
  })

/**
 * Databases first migrated by an earlier version have the people tables already: the engine's
 * second migration made them then. Everywhere else they are made here, before the owner.
 */
const people = Effect.gen(function* () {
  if (yield* tableExists("users")) return
  yield* statementsOf(peopleStatements)
})

/**
 * Every server has one owner: the first user, who may add others on the settings pages. On a
 * server that already has users, the earliest becomes the owner. `ADD` without `COLUMN` and a
 * default for the existing rows are spelled alike in SQLite, PostgreSQL and SQL Server.
 */
const owner = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const int = sql.onDialectOrElse({ mssql: () => "INT", orElse: () => "INTEGER" })
  yield* sql.unsafe(`ALTER TABLE users ADD owner ${int} NOT NULL DEFAULT 0`)
  const rows = yield* sql`SELECT id FROM users ORDER BY created_at, id`.pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String }))))
  )
  const first = rows[0]
  if (first !== undefined) yield* sql`UPDATE users SET owner = 1 WHERE id = ${first.id}`
})

/**
 * Connecting OAuth accounts (Google):
 * - `accounts.secret_format`: what the sealed secret holds. NULL is a bare password, as every row
 *   written before this migration holds; `json-v1` is sealed JSON per kind (a password or OAuth
 *   tokens, see store/Credential.ts). Existing rows need no re-sealing (and a migration could not:
 *   it has no master key), and reading never has to guess from the plaintext.
 * - `calendars.writable`: whether the account may write to the calendar (Google's access role);
 *   NULL for calendars found before, which CalDAV discovery only ever kept when they hold events.
 * - `calendars.time_zone`: the calendar's own zone where the provider has one (Google: floating
 *   times are placed in it).
 * - `oauth_states`: flows started and not yet finished. Only a hash of the state is kept, so the
 *   table cannot be used to finish someone's flow; the PKCE code verifier is sealed.
 */
export const oauthStatements = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE accounts ADD secret_format ${t.key}`,
  `ALTER TABLE calendars ADD writable ${t.int}`,
  `ALTER TABLE calendars ADD time_zone ${t.text}`,
  `CREATE TABLE oauth_states (
    state_hash ${t.key} NOT NULL PRIMARY KEY,
    provider ${t.key} NOT NULL,
    user_id ${t.key} NOT NULL,
    browser_hash ${t.key},
    name ${t.text},
    code_verifier ${t.text} NOT NULL,
    redirect_uri ${t.text} NOT NULL,
    created_at ${t.time} NOT NULL,
    expires_at ${t.time} NOT NULL
  )`,
  `CREATE INDEX oauth_states_expiry ON oauth_states (expires_at)`
]

/**
 * Sessions of the settings pages, apart from API tokens: the browser's cookie holds a random
 * session secret (only its hash is kept), which expires when idle and ends at sign-out; the API
 * token it was opened with is named, so revoking that token ends its sessions too.
 */
export const sessionStatements = (t: Types): ReadonlyArray<string> => [
  `CREATE TABLE page_sessions (
    secret_hash ${t.key} NOT NULL PRIMARY KEY,
    user_id ${t.key} NOT NULL,
    token_id ${t.key} NOT NULL,
    created_at ${t.time} NOT NULL,
    seen_at ${t.time} NOT NULL,
    expires_at ${t.time} NOT NULL
  )`,
  `CREATE INDEX page_sessions_expiry ON page_sessions (expires_at)`
]

/**
 * When an account last came back to health (a new password, a new consent, a refusal that
 * passed): a refusal met by a poll that began before then was met on the old credential, or by a
 * poll that read the old status, and must not park the account again. 0 for existing rows.
 */
export const resumedStatements = (t: Types): ReadonlyArray<string> => [
  `ALTER TABLE accounts ADD resumed_at ${t.time} NOT NULL DEFAULT 0`
]

/**
 * Push channels the server holds open at providers (Google `events.watch` channels, Microsoft
 * Graph subscriptions): what to renew, what to stop, and the hash of the secret each provider
 * echoes so that a notification can be checked. A Google channel watches one calendar; a Graph
 * subscription watches the account's mailbox (calendar_id NULL).
 */
export const pushStatements = (t: Types): ReadonlyArray<string> => [
  `CREATE TABLE push_channels (
    channel_id ${t.key} NOT NULL PRIMARY KEY,
    provider ${t.key} NOT NULL,
    account_id ${t.key} NOT NULL,
    calendar_id ${t.key},
    resource_id ${t.text} NOT NULL,
    token_hash ${t.key} NOT NULL,
    created_at ${t.time} NOT NULL,
    expires_at ${t.time} NOT NULL
  )`,
  `CREATE INDEX push_channels_account ON push_channels (account_id)`
]

/**
 * Every migration by id, in order. Applied ones are never edited, with one exception made safe:
 * the first once only added the owner; it now first makes the people tables where an earlier
 * engine did not (`people` does nothing where they exist), so no database's schema differs.
 */
export const loader = Migrator.fromRecord({
  "1_people_and_owner": Effect.zipRight(people, owner),
  "2_oauth": statementsOf(oauthStatements),
  "3_page_sessions": statementsOf(sessionStatements),
  "4_account_resumed_at": statementsOf(resumedStatements),
  "5_push_channels": statementsOf(pushStatements)
})

/** Runs the server's migrations that have not run yet (after the engine's). */
export const run = Migrator.make({})({ loader, table: "almanac_server_migrations" })

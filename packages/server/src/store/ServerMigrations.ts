/**
 * The server's own migrations, beside the engine's (core's `StoreMigrations`, which also created
 * the people tables before the server had migrations of its own). They keep their own record
 * table, so a migration added on either side never takes the other's number.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"

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

export const loader = Migrator.fromRecord({ "1_owner": owner })

/** Runs the server's migrations that have not run yet (after the engine's). */
export const run = Migrator.make({})({ loader, table: "almanac_server_migrations" })

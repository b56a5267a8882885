/**
 * The server's own migrations, beside the engine's (core's `StoreMigrations`, which also created
 * the people tables before the server had migrations of its own). They keep their own record
 * table, so a migration added on either side never takes the other's number.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"

const intType = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ mssql: () => "INT", orElse: () => "INTEGER" })

/** The statements of the owner migration, also used to check them without a server. */
export const ownerStatements = (int: string): ReadonlyArray<string> => [
  `ALTER TABLE users ADD owner ${int} NOT NULL DEFAULT 0`
]

/**
 * Every server has one owner: the first user, who may make others on the settings pages. On a
 * server that already has users, the earliest becomes the owner.
 */
const owner = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const statement of ownerStatements(intType(sql))) yield* sql.unsafe(statement)
  const rows = yield* sql`SELECT id FROM users ORDER BY created_at, id`.pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String }))))
  )
  const first = rows[0]
  if (first !== undefined) yield* sql`UPDATE users SET owner = 1 WHERE id = ${first.id}`
})

export const loader = Migrator.fromRecord({ "1_owner": owner })

/** Runs the server's migrations that have not run yet (after the engine's). */
export const run = Migrator.make({})({ loader, table: "almanac_server_migrations" })

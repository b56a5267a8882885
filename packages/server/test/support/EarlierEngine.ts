/**
 * A database as an earlier version left it: the engine's first migration and its second as that
 * version shipped it, which also made the server's tables (users, tokens, bookings and the owner
 * columns) before the server had migrations of its own. For the tests that migrate such a database.
 */
import { StoreMigrations } from "@almanac/core"
import { Migrator, SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as ServerMigrations from "../../src/store/ServerMigrations.js"

const earlierPeople = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const types = { key: "VARCHAR(64)", text: "TEXT", int: "INTEGER", time: "BIGINT" }
  for (const s of ServerMigrations.peopleStatements(types)) yield* sql.unsafe(s)
  yield* sql.unsafe("ALTER TABLE calendars ADD next_poll_at BIGINT")
})

/** Runs the engine's migrations as the earlier version had them (SQLite or PostgreSQL). */
export const migrate = Migrator.make({})({
  loader: Migrator.fromRecord({
    "1_initial": StoreMigrations.migrations["1_initial"],
    "2_people": earlierPeople
  }),
  table: "almanac_migrations"
})

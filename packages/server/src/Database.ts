/**
 * Which SQL database the server keeps its state in: the embedded default is one SQLite file in
 * the data folder; SQL Server (Azure SQL) is the production option and PostgreSQL serves
 * multi-runner setups. Migrations run on open, whichever it is.
 */

import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { StoreMigrations, SyncStore } from "@almanac/core"
import type { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Effect, Layer, Option, Schema } from "effect"
import * as Config from "./Config.js"
import * as RelationshipOwners from "./store/RelationshipOwners.js"
import * as ServerMigrations from "./store/ServerMigrations.js"

export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  message: Schema.String
}) {}

/**
 * Where `sync once`/`sync watch` keep their state by default: a file of their own beside the
 * server's database, never the server's (a CLI sync writing there made accounts with no owner and
 * no secret that a server on the same folder then adopted and parked).
 */
export const defaultStateFile = (): string =>
  join(process.env.ALMANAC_DATA_DIR || Config.defaultDataDir, "cli-sync.db")

/** The OS's or SQLite's own words for a failure ("ENOTDIR: not a directory", "file is not a database"). */
const reasonOf = (e: unknown): string => {
  if (e instanceof Error) return e.message.split("\n")[0] ?? e.message
  return String(e)
}

const sqlite = (filename: string): Layer.Layer<SqlClient.SqlClient, DatabaseError> =>
  Layer.unwrapEffect(
    Effect.try({
      try: () => {
        mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
        return SqliteClient.layer({ filename })
      },
      catch: (e) =>
        new DatabaseError({ message: `cannot create the data folder ${dirname(filename)} (${reasonOf(e)})` })
    })
  ).pipe(
    // better-sqlite3 throws while the client is made (a file that is no database, a folder it may
    // not write): a defect to Effect, but a start failure with a cause to the person.
    Layer.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && failure.value instanceof DatabaseError) return Layer.fail(failure.value)
      const reason = Option.match(Cause.failureOption(cause), {
        onSome: (e) => e.message,
        onNone: () => reasonOf(Option.getOrElse(Cause.dieOption(cause), () => Cause.pretty(cause)))
      })
      return Layer.fail(
        new DatabaseError({
          message: `cannot open the SQLite database ${filename}: ${reason}${reason.includes("unable to open") ? " (is its folder writable?)" : ""}`
        })
      )
    })
  )

/**
 * A client for the configured database, not yet migrated. The SQL Server and PostgreSQL drivers are
 * loaded only for those databases: they take a second or more to load.
 * Errors never carry the URL (it may hold a password).
 */
export const client = (database: Config.Database): Layer.Layer<SqlClient.SqlClient, DatabaseError> => {
  switch (database._tag) {
    case "Sqlite":
      return sqlite(database.filename)
    // The SQL Server and PostgreSQL drivers load only for those databases (they take seconds to load).
    case "SqlServer":
      return Layer.unwrapEffect(
        Effect.map(
          Effect.promise(() => import("@effect/sql-mssql")),
          ({ MssqlClient }) =>
            MssqlClient.layer({
              server: database.server,
              port: database.port,
              database: database.database,
              encrypt: database.encrypt,
              trustServer: database.trustServerCertificate,
              ...Option.match(database.username, {
                onNone: () => ({}),
                onSome: (username) => ({ username })
              }),
              ...Option.match(database.password, { onNone: () => ({}), onSome: (password) => ({ password }) })
            })
        )
      ).pipe(
        Layer.mapError(
          () =>
            new DatabaseError({
              message: `cannot connect to SQL Server at ${database.server}:${database.port}`
            })
        )
      )
    case "Postgres":
      return Layer.unwrapEffect(
        Effect.map(
          Effect.promise(() => import("@effect/sql-pg")),
          ({ PgClient }) => PgClient.layer({ url: database.url })
        )
      ).pipe(Layer.mapError(() => new DatabaseError({ message: "cannot connect to PostgreSQL" })))
  }
}

/** Runs the migrations that have not run yet: the engine's, then the server's own. */
export const migrated: Layer.Layer<never, DatabaseError, SqlClient.SqlClient> = Layer.effectDiscard(
  Effect.zipRight(StoreMigrations.run, ServerMigrations.run).pipe(
    Effect.mapError((e) => new DatabaseError({ message: `migration failed: ${e.message}` }))
  )
)

/**
 * The configured database, migrated, with the sync store on top. The server reads only the
 * relationships it made (a user's); the CLI's state has no users.
 */
export const layer = (
  database: Config.Database,
  options: SyncStore.Options = { relationshipCondition: RelationshipOwners.ownedOnly }
) => SyncStore.layerWith(options).pipe(Layer.provideMerge(migrated), Layer.provideMerge(client(database)))

/** SQLite at `filename` (its folder created), migrated, with the sync store on top (the CLI's state file). */
export const sqliteStore = (filename: string) => layer({ _tag: "Sqlite", filename }, {})

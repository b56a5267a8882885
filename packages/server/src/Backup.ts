/**
 * A consistent copy of the server's SQLite database, safe to take while the server runs: SQLite's
 * online backup API (through better-sqlite3, as @effect/sql-sqlite-node exposes it) copies the
 * pages of one read snapshot, whatever the server writes meanwhile, including what still sits in
 * the write-ahead log.
 *
 * The copy is written beside the destination under a temporary name (owner-only, as the database
 * holds sealed passwords and token hashes), checked, and only then put in place: a failed or
 * interrupted backup never leaves a half-written file under the destination's name, and without
 * `force` an existing file is never replaced (the final link fails rather than overwrites).
 *
 * SQL Server and PostgreSQL have their own backup tools; this module refuses them and says which.
 * The master key is not in the database: a backup without it cannot open the stored passwords.
 */
import { randomBytes } from "node:crypto"
import { closeSync, existsSync, linkSync, openSync, renameSync, rmSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Schema } from "effect"
import type * as Config from "./Config.js"

export class BackupError extends Schema.TaggedError<BackupError>()("BackupError", {
  reason: Schema.Literal(
    "NotSqlite",
    "NoDatabase",
    "DestinationExists",
    "DestinationIsDatabase",
    "CannotWrite",
    "CopyFailed",
    "CopyDamaged"
  ),
  /** The database kind (NotSqlite), or the file concerned. */
  subject: Schema.String,
  detail: Schema.optional(Schema.String)
}) {}

export interface BackupReport {
  readonly source: string
  readonly destination: string
  readonly pages: number
}

/** The words for a person, for the CLI. */
export const describe = (e: BackupError): string => {
  switch (e.reason) {
    case "NotSqlite":
      return e.subject === "Postgres"
        ? "the database is PostgreSQL: back it up with its own tools (pg_dump, or your provider's snapshots); `almanac backup` copies the embedded SQLite database only"
        : "the database is SQL Server: back it up with its own tools (BACKUP DATABASE, or Azure SQL's automatic backups and export); `almanac backup` copies the embedded SQLite database only"
    case "NoDatabase":
      return `there is no database at ${e.subject} (is ALMANAC_DATA_DIR or --data-dir right?)`
    case "DestinationExists":
      return `${e.subject} already exists; choose another file, or add --force to replace it`
    case "DestinationIsDatabase":
      return `${e.subject} is the database itself; choose another file`
    case "CannotWrite":
      return `cannot write ${e.subject}${e.detail === undefined ? "" : ` (${e.detail})`}`
    case "CopyFailed":
      return `the copy of ${e.subject} failed${e.detail === undefined ? "" : ` (${e.detail})`}; nothing was written`
    case "CopyDamaged":
      return `the copy did not pass SQLite's check (${e.detail ?? "unknown"}); nothing was written`
  }
}

const sqliteLayer = (filename: string) =>
  SqliteClient.layer({ filename }).pipe(
    Layer.mapError((e) => new BackupError({ reason: "CopyFailed", subject: filename, detail: e.message }))
  )

/** Copies the configured SQLite database to `destination`. */
export const run = (
  database: Config.Database,
  destination: string,
  options: { readonly force: boolean }
): Effect.Effect<BackupReport, BackupError> =>
  Effect.gen(function* () {
    if (database._tag !== "Sqlite")
      return yield* new BackupError({ reason: "NotSqlite", subject: database._tag })
    const source = resolve(database.filename)
    const target = resolve(destination)
    // Opening a missing file would create an empty database, and back that up.
    if (!existsSync(source)) return yield* new BackupError({ reason: "NoDatabase", subject: source })
    if (target === source) return yield* new BackupError({ reason: "DestinationIsDatabase", subject: target })
    if (!options.force && existsSync(target))
      return yield* new BackupError({ reason: "DestinationExists", subject: target })

    const partial = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.partial`)
    const cleanUp = Effect.sync(() => {
      for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true })
    })
    return yield* Effect.gen(function* () {
      // Created first, owner-only: the backup writes into this file and keeps its mode.
      yield* Effect.try({
        try: () => closeSync(openSync(partial, "wx", 0o600)),
        catch: (e) => new BackupError({ reason: "CannotWrite", subject: target, detail: errorCode(e) })
      })
      const copied = yield* Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql.backup(partial)).pipe(
        Effect.provide(sqliteLayer(source)),
        Effect.mapError((e) =>
          e instanceof BackupError
            ? e
            : new BackupError({ reason: "CopyFailed", subject: source, detail: e.message })
        )
      )
      yield* checkCopy(partial)
      yield* Effect.try({
        try: () => {
          if (options.force) renameSync(partial, target)
          else linkSync(partial, target)
        },
        catch: (e) =>
          errorCode(e) === "EEXIST"
            ? new BackupError({ reason: "DestinationExists", subject: target })
            : new BackupError({ reason: "CannotWrite", subject: target, detail: errorCode(e) })
      })
      return { source, destination: target, pages: copied.totalPages }
    }).pipe(Effect.ensuring(cleanUp))
  })

/** SQLite's own structural check of the copy, before anyone relies on it. */
const checkCopy = (file: string) =>
  Effect.gen(function* () {
    const sql = yield* SqliteClient.SqliteClient
    const rows = yield* sql<{ readonly quick_check: string }>`PRAGMA quick_check`
    const verdict = rows.map((r) => r.quick_check).join("; ")
    if (verdict !== "ok")
      return yield* new BackupError({ reason: "CopyDamaged", subject: file, detail: verdict })
  }).pipe(
    Effect.provide(sqliteLayer(file)),
    Effect.catchTag("SqlError", (e) =>
      Effect.fail(new BackupError({ reason: "CopyDamaged", subject: file, detail: e.message }))
    )
  )

const errorCode = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : String(e)

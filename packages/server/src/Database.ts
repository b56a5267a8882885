/**
 * The embedded default database: one SQLite file in the data folder, migrated on open.
 */

import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { StoreMigrations, SyncStore } from "@almanac/core"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"

export const defaultDataDir = (): string => process.env.ALMANAC_DATA_DIR ?? "./data"

export const defaultStateFile = (): string => `${defaultDataDir()}/almanac.db`

/** SQLite at `filename` (its folder created), migrated, with the sync store on top. */
export const sqliteStore = (filename: string) => {
  const sqlite = Layer.unwrapEffect(
    Effect.sync(() => {
      mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
      return SqliteClient.layer({ filename })
    })
  ).pipe(Layer.orDie)
  const migrated = Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))
  return SyncStore.layer.pipe(Layer.provideMerge(migrated), Layer.provideMerge(sqlite))
}

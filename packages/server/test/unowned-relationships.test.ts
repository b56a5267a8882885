/**
 * A relationship the server did not make (no user: `almanac sync --state` pointed at the server's
 * database) is never synced by the server, and the server says so at start. Real SQLite, the
 * server in process, calendars on the real Radicale of the test servers.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Policy, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as Database from "../src/Database.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

describe("relationships the server did not create", () => {
  it.scopedLive("are ignored, with a log line, and their calendars are never polled", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "almanac-unowned-"))
      // A first server makes a user and two calendars of theirs on Radicale.
      const calendars = yield* Effect.scoped(
        Effect.gen(function* () {
          const first = yield* TestServer.start({ ALMANAC_DATA_DIR: dataDir, ALMANAC_POLL_INTERVAL: "1h" })
          const ann = yield* Effect.promise(() => first.createUser("Ann"))
          return yield* Fixtures.account(first, ann.token, "radicale", 2)
        })
      )
      const [source, target] = calendars
      if (source === undefined || target === undefined) return expect.fail("no calendars")
      yield* Fixtures.put(source, Fixtures.event(`unowned-${Date.now()}@test`, "not the server's"))
      // Then the CLI's way into the same database: a relationship with no user.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* SyncStore.SyncStore
          yield* store.saveRelationship({
            id: "made-by-the-cli",
            sourceCalendarId: source.id,
            targetCalendarId: target.id,
            pairId: Option.none(),
            policy: Policy.SyncPolicy.make({ markPrivate: false, transp: "keep", attendees: false }),
            window: Option.none(),
            paused: false
          })
        }).pipe(Effect.provide(Layer.orDie(Database.sqliteStore(join(dataDir, "almanac.db")))))
      )

      const logs: Array<string> = []
      const server = yield* TestServer.start(
        { ALMANAC_DATA_DIR: dataDir, ALMANAC_POLL_INTERVAL: "1s" },
        { logs }
      )
      yield* Effect.sleep("4 seconds")
      expect(logs.some((l) => l.includes("ignoring 1 relationship(s) this server did not create"))).toBe(true)
      expect(yield* Fixtures.contents(target)).toEqual([])
      const polled = yield* TestServer.within(
        server,
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* sql`SELECT id FROM calendars WHERE last_poll_at IS NOT NULL`
        })
      ).pipe(Effect.orDie)
      expect(polled).toEqual([])
    }).pipe(Effect.provide(Fixtures.httpClient))
  )
})

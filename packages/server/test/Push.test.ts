/**
 * The push manager's decisions, on a real SQLite file with the real migrations and push_channels
 * table, over adapters that record what they are asked (the providers' own halves are tested
 * against their fakes in push-e2e.test.ts): which channels a reconcile opens, renews, reopens and
 * stops, when a refused channel is asked again, and which notifications wake which calendars.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { StoreMigrations } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { Engine } from "../src/Engine.js"
import * as Push from "../src/push/Push.js"
import { type PushAdapter, PushFailed } from "../src/push/PushAdapters.js"
import * as PushChannels from "../src/store/PushChannels.js"
import * as ServerMigrations from "../src/store/ServerMigrations.js"

interface Recorder {
  readonly calls: Array<string>
  /** The secret each open was given, by channel id: what the provider would echo. */
  readonly secrets: Map<string, string>
  /** Life of the channels opened from now on, in ms. */
  life: number
  failOpen: boolean
  renewable: boolean
}

const recorder = (): Recorder => ({
  calls: [],
  secrets: new Map(),
  life: 86_400_000,
  failOpen: false,
  renewable: true
})

const adapter = (r: Recorder, provider: "google" | "microsoft"): PushAdapter => {
  let n = 0
  return {
    provider,
    scope: provider === "google" ? "calendar" : "account",
    path: `/push/${provider}`,
    open: (target, address, secret) =>
      Effect.suspend(() => {
        r.calls.push(
          `open ${provider} ${provider === "google" ? target.calendarRef : target.accountId} ${address}`
        )
        if (r.failOpen) return Effect.fail(new PushFailed({ provider, detail: "refused the address" }))
        const channelId = `${provider}-${++n}`
        r.secrets.set(channelId, Redacted.value(secret))
        return Effect.succeed({ channelId, resourceId: `res-${channelId}`, expiresAt: Date.now() + r.life })
      }),
    renew: (c) =>
      Effect.sync(() => {
        r.calls.push(`renew ${c.channelId}`)
        return provider === "microsoft" && r.renewable ? Option.some(Date.now() + r.life) : Option.none()
      }),
    close: (c) =>
      Effect.sync(() => {
        r.calls.push(`close ${c.channelId}`)
      })
  }
}

const setup = (
  r: Recorder,
  woken: Array<string>,
  retryAfter: Duration.DurationInput = Duration.minutes(15),
  pushUrl: Option.Option<string> = Option.some("https://almanac.example"),
  dataDir = mkdtempSync(join(tmpdir(), "almanac-push-"))
) => {
  const db = Layer.effectDiscard(
    StoreMigrations.run.pipe(Effect.zipRight(ServerMigrations.run), Effect.orDie)
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename: join(dataDir, "almanac.db") }).pipe(Layer.orDie)))
  const engine = Layer.succeed(Engine, {
    refresh: () => Effect.void,
    syncNow: (id) => Effect.sync(() => void woken.push(id)),
    inProgress: () => Effect.succeed(Option.none()),
    confirmDeletes: () => Effect.die("not here")
  })
  const push = Layer.scoped(
    Push.Push,
    Push.make(
      { pushUrl },
      { google: adapter(r, "google"), microsoft: adapter(r, "microsoft") },
      // The loop's own reconciles would race the test's: a day apart.
      { every: Duration.days(1), retryAfter }
    )
  )
  return push.pipe(Layer.provideMerge(PushChannels.layer), Layer.provideMerge(engine), Layer.provideMerge(db))
}

/** Accounts, calendars and relationships as the stores write them, by hand. */
const seed = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const account = (id: string, kind: string, status = "ok") =>
    sql`INSERT INTO accounts (id, kind, url, username, secret, status, created_at, user_id)
      VALUES (${id}, ${kind}, ${"https://x.example"}, ${""}, ${null}, ${status}, ${0}, ${"u"})`
  const calendar = (id: string, accountId: string, url: string) =>
    sql`INSERT INTO calendars (id, account_id, url, polls) VALUES (${id}, ${accountId}, ${url}, ${0})`
  yield* account("g", "google")
  yield* account("m", "microsoft")
  yield* account("parked", "google", "needs-reauth")
  yield* account("dav", "caldav")
  yield* calendar("g1", "g", "primary@example")
  yield* calendar("g2", "g", "team@example")
  yield* calendar("g3", "g", "unwatched@example")
  yield* calendar("m1", "m", "AAMk-1")
  yield* calendar("m2", "m", "AAMk-2")
  yield* calendar("p1", "parked", "parked@example")
  yield* calendar("d1", "dav", "https://dav.example/cal/")
  const relate = (id: string, from: string, to: string, paused = 0) =>
    sql`INSERT INTO relationships (id, source_calendar_id, target_calendar_id, policy, paused, created_at, user_id)
      VALUES (${id}, ${from}, ${to}, ${"{}"}, ${paused}, ${0}, ${"u"})`
  yield* relate("r1", "g1", "d1")
  yield* relate("r2", "d1", "g2")
  yield* relate("r3", "m1", "d1")
  yield* relate("r4", "m2", "g1")
  yield* relate("r5", "p1", "d1")
  yield* relate("r6", "g3", "d1", 1)
})

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("push channels", () => {
  it.scopedLive(
    "a reconcile opens one channel per watched Google calendar and one per Microsoft account, then renews, reopens and stops them",
    () => {
      const r = recorder()
      const woken: Array<string> = []
      return Effect.gen(function* () {
        yield* seed
        const push = yield* Push.Push
        const channels = yield* PushChannels.PushChannels
        const sql = yield* SqlClient.SqlClient
        yield* push.reconcile
        // Parked accounts, paused relationships and CalDAV calendars get none; m1 and m2 share one.
        expect(sorted(r.calls)).toEqual([
          "open google primary@example https://almanac.example/push/google",
          "open google team@example https://almanac.example/push/google",
          "open microsoft m https://almanac.example/push/microsoft"
        ])
        expect((yield* channels.all).length).toBe(3)

        // Fresh channels: nothing to do.
        r.calls.length = 0
        yield* push.reconcile
        expect(r.calls).toEqual([])

        // Within a third of their life of expiring: Graph renews in place, Google opens a new
        // channel and then stops the old one.
        const now = Date.now()
        for (const c of yield* channels.all)
          yield* channels.setExpiry(c.channelId, now - 3_000_000, now + 1_000_000)
        yield* push.reconcile
        expect(sorted(r.calls)).toEqual(
          sorted([
            "renew google-1",
            "renew google-2",
            "renew microsoft-1",
            "open google primary@example https://almanac.example/push/google",
            "open google team@example https://almanac.example/push/google",
            "close google-1",
            "close google-2"
          ])
        )
        const ids = sorted((yield* channels.all).map((c) => c.channelId))
        expect(ids).toEqual(["google-3", "google-4", "microsoft-1"])
        const ofG1 = (yield* channels.all).find((c) => Option.getOrNull(c.calendarId) === "g1")?.channelId
        const ofG2 = (yield* channels.all).find((c) => Option.getOrNull(c.calendarId) === "g2")?.channelId
        const renewed = Option.getOrThrow(yield* channels.byId("microsoft-1"))
        expect(renewed.expiresAt).toBeGreaterThan(now + 80_000_000)

        // A subscription Graph no longer has is opened again.
        r.renewable = false
        yield* channels.setExpiry("microsoft-1", now - 3_000_000, now + 1_000_000)
        r.calls.length = 0
        yield* push.reconcile
        expect(r.calls).toEqual([
          "renew microsoft-1",
          "open microsoft m https://almanac.example/push/microsoft",
          "close microsoft-1"
        ])

        // No longer watched: stopped and forgotten.
        yield* sql`UPDATE relationships SET paused = ${1} WHERE id IN (${"r1"}, ${"r4"})`
        r.calls.length = 0
        yield* push.reconcile
        expect(r.calls).toEqual([`close ${ofG1}`])
        expect(sorted((yield* channels.all).map((c) => c.channelId))).toEqual(
          sorted([`${ofG2}`, "microsoft-2"])
        )

        // A removed account's channels go with it.
        r.calls.length = 0
        yield* push.forget("m")
        expect(r.calls).toEqual(["close microsoft-2"])
        expect((yield* channels.all).map((c) => c.channelId)).toEqual([ofG2])
        expect(woken).toEqual([])
      }).pipe(Effect.provide(setup(r, woken)))
    }
  )

  it.scopedLive("a channel the provider refused is asked again only after the retry time", () => {
    const r = recorder()
    return Effect.gen(function* () {
      yield* seed
      const push = yield* Push.Push
      r.failOpen = true
      yield* push.reconcile
      expect(r.calls.length).toBe(3)
      r.calls.length = 0
      yield* push.reconcile
      expect(r.calls).toEqual([])
      expect((yield* (yield* PushChannels.PushChannels).all).length).toBe(0)
    }).pipe(Effect.provide(setup(r, [])))
  })

  it.scopedLive("with no retry time a refused channel is asked at every reconcile", () => {
    const r = recorder()
    return Effect.gen(function* () {
      yield* seed
      const push = yield* Push.Push
      r.failOpen = true
      yield* push.reconcile
      r.calls.length = 0
      r.failOpen = false
      yield* push.reconcile
      expect(r.calls.length).toBe(3)
    }).pipe(Effect.provide(setup(r, [], 0)))
  })

  it.scopedLive("a notification wakes its calendars only with the channel's secret", () => {
    const r = recorder()
    const woken: Array<string> = []
    return Effect.gen(function* () {
      yield* seed
      const push = yield* Push.Push
      const channels = yield* PushChannels.PushChannels
      yield* push.reconcile
      const byCalendar = new Map(
        (yield* channels.all).map((c) => [Option.getOrElse(c.calendarId, () => c.accountId), c.channelId])
      )
      const g1 = byCalendar.get("g1") ?? ""
      const sub = byCalendar.get("m") ?? ""
      const settle = Effect.sleep(Duration.millis(50))

      expect(yield* push.google({ channelId: g1, token: r.secrets.get(g1), state: "sync" })).toBe("noted")
      expect(yield* push.google({ channelId: g1, token: "forged", state: "exists" })).toBe("refused")
      expect(yield* push.google({ channelId: g1, token: undefined, state: "exists" })).toBe("refused")
      expect(yield* push.google({ channelId: "stopped-long-ago", token: "x", state: "exists" })).toBe(
        "unknown"
      )
      // Another provider's channel id is not one of Google's.
      expect(yield* push.google({ channelId: sub, token: r.secrets.get(sub), state: "exists" })).toBe(
        "unknown"
      )
      yield* settle
      expect(woken).toEqual([])
      expect(yield* push.google({ channelId: g1, token: r.secrets.get(g1), state: "exists" })).toBe("woke")
      yield* settle
      expect(woken).toEqual(["g1"])

      // Graph: one subscription for the mailbox wakes every watched calendar of the account.
      woken.length = 0
      const graph = (clientState: string | undefined, lifecycleEvent?: string) =>
        push.microsoft({ subscriptionId: sub, clientState, lifecycleEvent })
      expect(yield* graph("forged")).toBe("refused")
      yield* settle
      expect(woken).toEqual([])
      expect(yield* graph(r.secrets.get(sub))).toBe("woke")
      yield* settle
      expect(sorted(woken)).toEqual(["m1", "m2"])

      // reauthorizationRequired: renewed at once (the reconcile it asks for), and a catch-up poll.
      woken.length = 0
      r.calls.length = 0
      expect(yield* graph(r.secrets.get(sub), "reauthorizationRequired")).toBe("woke")
      yield* push.reconcile
      expect(r.calls).toEqual([`renew ${sub}`])
      // subscriptionRemoved: forgotten, opened again.
      r.calls.length = 0
      expect(yield* graph(r.secrets.get(sub), "subscriptionRemoved")).toBe("woke")
      expect(Option.isNone(yield* channels.byId(sub))).toBe(true)
      yield* push.reconcile
      expect(r.calls).toEqual(["open microsoft m https://almanac.example/push/microsoft"])
      yield* settle
      expect(sorted(woken)).toEqual(["m1", "m1", "m2", "m2"])
    }).pipe(Effect.provide(setup(r, woken)))
  })

  it.scopedLive("with push turned off, the channels an earlier run opened are stopped", () => {
    const r = recorder()
    const dataDir = mkdtempSync(join(tmpdir(), "almanac-push-off-"))
    return Effect.gen(function* () {
      yield* Effect.gen(function* () {
        yield* seed
        yield* (yield* Push.Push).reconcile
      }).pipe(
        Effect.provide(setup(r, [], Duration.minutes(15), Option.some("https://almanac.example"), dataDir))
      )
      expect(r.calls.filter((c) => c.startsWith("open")).length).toBe(3)
      r.calls.length = 0
      yield* Effect.gen(function* () {
        const push = yield* Push.Push
        expect(push.enabled).toBe(false)
        const channels = yield* PushChannels.PushChannels
        // The stop runs in the background at start.
        for (let i = 0; i < 100 && (yield* channels.all).length > 0; i++) yield* Effect.sleep("20 millis")
        expect((yield* channels.all).length).toBe(0)
        expect(sorted(r.calls)).toEqual(["close google-1", "close google-2", "close microsoft-1"])
      }).pipe(Effect.provide(setup(r, [], Duration.minutes(15), Option.none(), dataDir)))
    })
  })
})

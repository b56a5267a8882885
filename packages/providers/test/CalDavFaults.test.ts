/**
 * The engine on real servers (Xandikos → Radicale) with both calendars behind the fault-injecting
 * proxy (scripts/test-servers/FaultProxy.ts): resets before and after the headers, truncated
 * bodies, answers slower than the client's timeout, 429/503 with Retry-After, 500s and duplicated
 * <response> rows, on a seeded schedule. Repeated polls converge: the target holds the policy
 * applied to the source, each once, and a clean poll afterwards writes nothing; again after edits
 * and deletes at the source.
 *
 * Knobs for measuring (defaults are what the suite runs): FAULT_SYNC_EVENTS (40),
 * FAULT_SYNC_SEED (20261202), FAULT_SYNC_ATTEMPTS (the client's retry attempts, 3; 1 = no retries).
 */

import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import {
  CalendarProvider,
  ContentHash,
  CopyMapping,
  EventModel,
  Policy,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "@almanac/core"
import { NodeHttpClient } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Redacted } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import * as FaultProxy from "../../../scripts/test-servers/FaultProxy.js"
import { CalDavRegistry, ICalCodec } from "../src/index.js"

const EVENTS = Number(process.env.FAULT_SYNC_EVENTS ?? 40)
const SEED = Number(process.env.FAULT_SYNC_SEED ?? 20261202)
const ATTEMPTS = Number(process.env.FAULT_SYNC_ATTEMPTS ?? 3)
const MAX_POLLS = Number(process.env.FAULT_SYNC_MAX_POLLS ?? 30)
const RATE = 0.2

const auth = (user: string) => ({ user, password: Redacted.make("test-password") })

const event = (uid: string, summary: string, i: number): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start: EventModel.zoned("Europe/Berlin", 2026, 11, 20 + (i % 8), 8 + (i % 10)),
      end: EventModel.zoned("Europe/Berlin", 2026, 11, 20 + (i % 8), 9 + (i % 10)),
      summary: Option.some(summary),
      location: Option.some(`room ${i}`)
    })
  )

interface Side {
  readonly direct: CalDavClient.CalDavClientShape
  /** The calendar's URL on the server itself. */
  readonly url: string
  readonly proxy: FaultProxy.FaultProxy
  /** The same calendar through the proxy: what the engine is given. */
  readonly proxied: string
}

const side = (name: "xandikos" | "radicale", seed: number, retryAfterSeconds: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const server = caldavServer(name)
    const direct = yield* CalDavClient.make({ auth: auth(server.user) })
    const url = `${server.home}faults-${randomUUID()}/`
    yield* direct.mkcalendar(url, { displayName: "fault test" })
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() =>
        FaultProxy.start(server.url, { seed, rate: RATE, slowMillis: 1500, retryAfterSeconds })
      ),
      (p) => Effect.promise(() => p.close())
    )
    const proxied = new URL(new URL(url).pathname, proxy.url).href
    return { direct, url, proxy, proxied } satisfies Side
  })

/** Every resource of a calendar, read directly (no faults), decoded. */
const contents = (s: Side) =>
  Effect.gen(function* () {
    const listing = yield* s.direct.listEtags(s.url)
    const got = yield* s.direct.multiget(
      s.url,
      listing.map((i) => i.href)
    )
    return yield* Effect.forEach(got.found, (i) => ICalCodec.parse(i.data, { href: i.href }))
  })

const setup = (retryAfterSeconds: ReadonlyArray<number> = [0, 1]) =>
  Effect.gen(function* () {
    const a = yield* side("xandikos", SEED, retryAfterSeconds)
    const b = yield* side("radicale", SEED + 1, retryAfterSeconds)
    const options: CalDavClient.ClientOptions = {
      timeout: "1 second",
      retry: { attempts: ATTEMPTS, baseDelay: "5 millis" }
    }
    const registry = yield* CalDavRegistry.make([
      { id: "a", options: { ...options, auth: auth(caldavServer("xandikos").user) } },
      { id: "b", options: { ...options, auth: auth(caldavServer("radicale").user) } }
    ])
    const layer = Layer.merge(
      SyncStore.layer.pipe(
        Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
        Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }).pipe(Layer.orDie))
      ),
      Layer.succeed(CalendarProvider.ProviderRegistry, registry.registry)
    )
    const policy = Policy.SyncPolicy.make({ markPrivate: false, transp: "keep", attendees: false })
    const init = Effect.gen(function* () {
      const store = yield* SyncStore.SyncStore
      yield* store.ensureAccount({ id: "a", kind: "caldav", url: a.proxy.url, username: Option.none() })
      yield* store.ensureAccount({ id: "b", kind: "caldav", url: b.proxy.url, username: Option.none() })
      yield* store.ensureCalendar({ id: "A", accountId: "a", ref: a.proxied })
      yield* store.ensureCalendar({ id: "B", accountId: "b", ref: b.proxied })
      yield* store.saveRelationship({
        id: "a-to-b",
        sourceCalendarId: "A",
        targetCalendarId: "B",
        pairId: Option.none(),
        policy,
        window: Option.none(),
        paused: false
      })
    })
    const poll = SyncCycle.run("A", SyncCycle.defaultOptions(new Date("2026-11-21T12:00:00Z")))
    return { a, b, layer, init, poll, policy }
  })

type Ctx = Effect.Effect.Success<ReturnType<typeof setup>>

/** Polls until one succeeds completely and writes nothing; how many polls that took, and how many failed. */
const converge = (ctx: Ctx) =>
  Effect.gen(function* () {
    let failed = 0
    const errors: Array<string> = []
    for (let n = 1; n <= MAX_POLLS; n++) {
      const r = yield* Effect.either(ctx.poll)
      if (Either.isLeft(r)) {
        failed++
        errors.push(r.left instanceof Error ? r.left.message : String(r.left))
        continue
      }
      const report = r.right
      if (report.outcome !== "incomplete" && report.created + report.updated + report.deleted === 0)
        return { polls: n, failed, errors }
    }
    return { polls: Number.POSITIVE_INFINITY, failed, errors }
  })

/** The target equals the policy applied to the source: one copy per original, nothing else. */
const checkMirror = (ctx: Ctx) =>
  Effect.gen(function* () {
    const sources = yield* contents(ctx.a)
    const copies = yield* contents(ctx.b)
    const expected = sources.map((r) => ContentHash.of(CopyMapping.copyOf("a-to-b", ctx.policy, r))).sort()
    const actual = copies.map(ContentHash.of).sort()
    const uids = copies.map((c) => c.uid)
    expect(new Set(uids).size).toBe(uids.length)
    expect(copies.length).toBe(sources.length)
    expect(actual).toEqual(expected)
    return { sources: sources.length, copies: copies.length }
  })

/** With the faults off, a poll finds nothing to do. */
const cleanPoll = (ctx: Ctx) =>
  Effect.gen(function* () {
    ctx.a.proxy.setRate(0)
    ctx.b.proxy.setRate(0)
    const clean = yield* ctx.poll
    expect(clean.created + clean.updated + clean.deleted).toBe(0)
    expect(clean.outcome).not.toBe("incomplete")
    ctx.a.proxy.setRate(RATE)
    ctx.b.proxy.setRate(RATE)
  })

describe("sync xandikos → radicale through a proxy failing 20% of requests", () => {
  it.live(
    `${EVENTS} events converge with no duplicates and no losses; again after edits and deletes (seed ${SEED})`,
    () =>
      Effect.gen(function* () {
        const ctx = yield* setup()
        yield* Effect.gen(function* () {
          yield* ctx.init
          const uids = Array.from({ length: EVENTS }, (_, i) => `f${i}-${randomUUID()}`)
          yield* Effect.forEach(
            uids,
            (uid, i) =>
              ctx.a.direct.put(`${ctx.a.url}e${i}.ics`, ICalCodec.serialize(event(uid, `meeting ${i}`, i)), {
                _tag: "Create"
              }),
            { concurrency: 4 }
          )

          const first = yield* converge(ctx)
          const injected = () => ctx.a.proxy.injected.length + ctx.b.proxy.injected.length
          yield* Effect.log(
            `initial sync of ${EVENTS}: ${first.polls} polls (${first.failed} failed: ${first.errors.join(", ")}), ${injected()} faults injected, attempts ${ATTEMPTS}`
          )
          if (!Number.isFinite(first.polls))
            yield* Effect.log(`not converged: ${(yield* contents(ctx.b)).length}/${EVENTS} copied`)
          expect(first.polls).toBeLessThanOrEqual(MAX_POLLS)
          const kinds = new Map<string, number>()
          for (const f of [...ctx.a.proxy.injected, ...ctx.b.proxy.injected])
            kinds.set(`${f.method} ${f.fault}`, (kinds.get(`${f.method} ${f.fault}`) ?? 0) + 1)
          yield* Effect.log(`faults: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(", ")}`)
          expect(injected()).toBeGreaterThan(0)
          expect((yield* checkMirror(ctx)).copies).toBe(EVENTS)
          yield* cleanPoll(ctx)

          // Edits and deletes at the source (directly, fault-free), then converge again.
          const listing = yield* ctx.a.direct.listEtags(ctx.a.url)
          const byName = (i: number) => listing.find((l) => l.href.endsWith(`/e${i}.ics`))
          const edited = Math.max(1, Math.floor(EVENTS / 8))
          for (let i = 0; i < edited; i++) {
            const ref = byName(i)
            if (ref === undefined) throw new Error(`no e${i}`)
            yield* ctx.a.direct.put(
              ref.href,
              ICalCodec.serialize(event(uids[i] ?? "", `meeting ${i}, moved`, i + 1)),
              {
                _tag: "Update",
                etag: ref.etag
              }
            )
          }
          const removed = Math.max(1, Math.floor(EVENTS / 10))
          for (let i = edited; i < edited + removed; i++) {
            const ref = byName(i)
            if (ref === undefined) throw new Error(`no e${i}`)
            yield* ctx.a.direct.remove(ref.href, ref.etag)
          }
          const second = yield* converge(ctx)
          yield* Effect.log(
            `after edits and deletes: ${second.polls} polls (${second.failed} failed: ${second.errors.join(", ")})`
          )
          expect(second.polls).toBeLessThanOrEqual(MAX_POLLS)
          const after = yield* checkMirror(ctx)
          expect(after.copies).toBe(EVENTS - removed)
          const moved = (yield* contents(ctx.b)).filter((c) =>
            Option.exists(c.master, (m) => Option.exists(m.summary, (s) => s.endsWith(", moved")))
          )
          expect(moved.length).toBe(edited)
          yield* cleanPoll(ctx)
        }).pipe(Effect.provide(ctx.layer))
      }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )

  it.live("a single 503 with Retry-After: 1 no longer fails a poll", () =>
    Effect.gen(function* () {
      const ctx = yield* setup([1])
      ctx.a.proxy.setRate(0)
      ctx.b.proxy.setRate(0)
      yield* Effect.gen(function* () {
        yield* ctx.init
        yield* ctx.a.direct.put(
          `${ctx.a.url}one.ics`,
          ICalCodec.serialize(event(`one-${randomUUID()}`, "one", 1)),
          {
            _tag: "Create"
          }
        )
        ctx.a.proxy.failNext("503")
        const started = Date.now()
        const report = yield* ctx.poll
        expect(ctx.a.proxy.injected.map((f) => f.fault)).toEqual(["503"])
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
        expect(report.created).toBe(1)
        expect(report.outcome).toBe("synced")
        yield* checkMirror(ctx)
      }).pipe(Effect.provide(ctx.layer))
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )

  it.live(
    "writes whose answers were lost: the create is adopted, the update and the delete settle, nothing doubles",
    () =>
      Effect.gen(function* () {
        const ctx = yield* setup()
        ctx.a.proxy.setRate(0)
        ctx.b.proxy.setRate(0)
        yield* Effect.gen(function* () {
          yield* ctx.init
          const uid = `lost-${randomUUID()}`
          yield* ctx.a.direct.put(`${ctx.a.url}lost.ics`, ICalCodec.serialize(event(uid, "v1", 1)), {
            _tag: "Create"
          })
          // The target's first request is the create: it lands, and its answer is lost.
          ctx.b.proxy.failNext("reset-before-headers")
          const created = yield* ctx.poll
          expect(ctx.b.proxy.injected.map((f) => `${f.method} ${f.fault}`)).toEqual([
            "PUT reset-before-headers"
          ])
          expect(created.outcome).toBe("synced")
          expect(created.conflicts).toBe(0)
          yield* checkMirror(ctx)

          const ref = (yield* ctx.a.direct.listEtags(ctx.a.url))[0]
          if (ref === undefined) throw new Error("no source")
          yield* ctx.a.direct.put(ref.href, ICalCodec.serialize(event(uid, "v2", 2)), {
            _tag: "Update",
            etag: ref.etag
          })
          ctx.b.proxy.failNext("truncated-body")
          const updated = yield* ctx.poll
          expect(ctx.b.proxy.injected.at(-1)).toMatchObject({ method: "PUT", fault: "truncated-body" })
          expect(updated.outcome).toBe("synced")
          yield* checkMirror(ctx)
          yield* cleanPoll(ctx)
          ctx.a.proxy.setRate(0)
          ctx.b.proxy.setRate(0)

          // An update whose answer is lost on every try: it landed, the poll failed, the link
          // still holds the old version. The target's poll finds the copy already as the original
          // says and records it; nobody writes it again.
          const before = (yield* ctx.a.direct.listEtags(ctx.a.url))[0]
          if (before === undefined) throw new Error("no source")
          yield* ctx.a.direct.put(before.href, ICalCodec.serialize(event(uid, "v3", 3)), {
            _tag: "Update",
            etag: before.etag
          })
          const faultsBefore = ctx.b.proxy.injected.length
          ctx.b.proxy.failNext("reset-before-headers", "reset-before-headers", "reset-before-headers")
          const lost = yield* Effect.either(ctx.poll)
          expect(ctx.b.proxy.injected.slice(faultsBefore).map((f) => `${f.method} ${f.fault}`)).toEqual([
            "PUT reset-before-headers",
            "PUT reset-before-headers",
            "PUT reset-before-headers"
          ])
          expect(Either.isLeft(lost) || lost.right.outcome === "incomplete").toBe(true)
          yield* checkMirror(ctx)
          const targetPoll = yield* SyncCycle.run(
            "B",
            SyncCycle.defaultOptions(new Date("2026-11-21T12:00:00Z"))
          )
          expect(targetPoll.updated + targetPoll.created).toBe(0)
          const sourcePoll = yield* ctx.poll
          expect(sourcePoll.updated + sourcePoll.created).toBe(0)
          yield* checkMirror(ctx)

          const now = (yield* ctx.a.direct.listEtags(ctx.a.url))[0]
          if (now === undefined) throw new Error("no source")
          yield* ctx.a.direct.remove(now.href, now.etag)
          ctx.b.proxy.failNext("reset-mid-body")
          const deleted = yield* ctx.poll
          expect(ctx.b.proxy.injected.at(-1)).toMatchObject({ method: "DELETE", fault: "reset-mid-body" })
          expect(deleted.deleted).toBe(1)
          expect(yield* contents(ctx.b)).toEqual([])
          yield* cleanPoll(ctx)
        }).pipe(Effect.provide(ctx.layer))
      }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )
})

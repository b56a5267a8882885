/**
 * The engine end to end on real servers: Xandikos → Radicale and Radicale → Xandikos, through the
 * CalDAV provider, the real SQL store (SQLite in memory) and the sync cycle.
 */

import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import {
  CalendarProvider,
  ContentHash,
  EventModel,
  Policy,
  type Relationship,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "@almanac/core"
import { NodeHttpClient } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { caldavServer as byName } from "../../../scripts/test-servers/context.js"
import { CalDavRegistry, ICalCodec } from "../src/index.js"

const auth = (user: string) => ({ user, password: Redacted.make("test-password") })

interface Side {
  readonly server: ReturnType<typeof byName>
  readonly url: string
  readonly client: CalDavClient.CalDavClientShape
}

/** A fresh calendar on a server, and a client for it. */
const freshCalendar = (name: "xandikos" | "radicale") =>
  Effect.gen(function* () {
    const server = byName(name)
    const client = yield* CalDavClient.make({ auth: auth(server.user) })
    const url = `${server.home}sync-${randomUUID()}/`
    yield* client.mkcalendar(url, { displayName: "sync test" })
    return { server, url, client } satisfies Side
  })

const put = (side: Side, name: string, resource: EventModel.EventResource) =>
  side.client.put(`${side.url}${name}`, ICalCodec.serialize(resource), { _tag: "Create" })

const event = (uid: string, summary: string, day = 24): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start: EventModel.zoned("Europe/Berlin", 2026, 11, day, 9),
      end: EventModel.zoned("Europe/Berlin", 2026, 11, day, 10),
      summary: Option.some(summary),
      location: Option.some(`room for ${summary}`)
    })
  )

/** Every resource of a calendar, decoded. */
const contents = (side: Side) =>
  Effect.gen(function* () {
    const listing = yield* side.client.listEtags(side.url)
    const got = yield* side.client.multiget(
      side.url,
      listing.map((i) => i.href)
    )
    return yield* Effect.forEach(got.found, (i) => ICalCodec.parse(i.data, { href: i.href }))
  })

const engine = (a: Side, b: Side, options: { twoWay?: boolean; markPrivate?: boolean } = {}) =>
  Effect.gen(function* () {
    const registry = yield* CalDavRegistry.make([
      { id: "a", options: { auth: auth(a.server.user) } },
      { id: "b", options: { auth: auth(b.server.user) } }
    ])
    const layer = Layer.merge(
      SyncStore.layer.pipe(
        Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
        Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }).pipe(Layer.orDie))
      ),
      Layer.succeed(CalendarProvider.ProviderRegistry, registry.registry)
    )
    const policy = Policy.SyncPolicy.make({
      markPrivate: options.markPrivate ?? false,
      transp: "keep",
      attendees: false
    })
    const setup = Effect.gen(function* () {
      const store = yield* SyncStore.SyncStore
      yield* store.ensureAccount({
        id: "a",
        kind: "caldav",
        url: a.server.url,
        username: Option.some(a.server.user)
      })
      yield* store.ensureAccount({
        id: "b",
        kind: "caldav",
        url: b.server.url,
        username: Option.some(b.server.user)
      })
      yield* store.ensureCalendar({ id: "A", accountId: "a", ref: a.url })
      yield* store.ensureCalendar({ id: "B", accountId: "b", ref: b.url })
      const forward: Relationship.Relationship = {
        id: "a-to-b",
        sourceCalendarId: "A",
        targetCalendarId: "B",
        pairId: Option.none(),
        policy,
        window: Option.none(),
        paused: false
      }
      yield* store.saveRelationship(forward)
      if (options.twoWay)
        yield* store.saveRelationship({
          ...forward,
          id: "b-to-a",
          sourceCalendarId: "B",
          targetCalendarId: "A"
        })
    })
    const poll = (id: "A" | "B", o: Partial<SyncCycle.CycleOptions> = {}) =>
      SyncCycle.run(id, { ...SyncCycle.defaultOptions(new Date("2026-11-21T12:00:00Z")), ...o })
    return { layer, setup, poll, policy, registry }
  })

const pairs = [
  ["xandikos", "radicale"],
  ["radicale", "xandikos"]
] as const

describe.each(pairs)("sync %s → %s on real servers", (from, to) => {
  const run = <A, E>(
    body: (ctx: {
      a: Side
      b: Side
      poll: (
        id: "A" | "B",
        o?: Partial<SyncCycle.CycleOptions>
      ) => Effect.Effect<
        SyncCycle.CycleReport,
        unknown,
        SyncStore.SyncStore | CalendarProvider.ProviderRegistry
      >
      policy: Policy.SyncPolicy
      /** The engine's own clients, whose request counts are the engine's. */
      requests: (side: "a" | "b") => Effect.Effect<number>
    }) => Effect.Effect<A, E, SyncStore.SyncStore | CalendarProvider.ProviderRegistry>,
    options: { twoWay?: boolean; markPrivate?: boolean } = {}
  ) =>
    Effect.gen(function* () {
      const a = yield* freshCalendar(from)
      const b = yield* freshCalendar(to)
      const e = yield* engine(a, b, options)
      return yield* Effect.gen(function* () {
        yield* e.setup
        const requests = (side: "a" | "b") => {
          const client = e.registry.clients.get(side)
          return client === undefined ? Effect.succeed(0) : Effect.map(client.stats, (st) => st.requests)
        }
        return yield* body({ a, b, poll: e.poll, policy: e.policy, requests })
      }).pipe(Effect.provide(e.layer))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))

  it.live("initial sync, updates and deletes; an idle poll is one request", () =>
    run(({ a, b, poll, requests }) =>
      Effect.gen(function* () {
        for (let i = 0; i < 5; i++)
          yield* put(a, `e${i}.ics`, event(`e${i}-${randomUUID()}`, `meeting ${i}`, 20 + i))
        const first = yield* poll("A")
        expect(first.created).toBe(5)
        yield* poll("B")
        expect((yield* contents(b)).length).toBe(5)

        const before = yield* requests("a")
        const idle = yield* poll("A")
        expect(idle.outcome).toBe("unchanged")
        expect((yield* requests("a")) - before).toBe(1)

        const listing = yield* a.client.listEtags(a.url)
        const first0 = listing.find((i) => i.href.endsWith("e0.ics"))
        const first1 = listing.find((i) => i.href.endsWith("e1.ics"))
        if (first0 === undefined || first1 === undefined) throw new Error("listing lacks the events")
        const original = (yield* contents(a)).find((r) =>
          Option.exists(r.master, (m) => Option.contains(m.summary, "meeting 0"))
        )
        if (original === undefined) throw new Error("no meeting 0")
        yield* a.client.put(
          first0.href,
          ICalCodec.serialize({
            ...original,
            master: Option.map(original.master, (m) => ({ ...m, summary: Option.some("meeting 0, moved") }))
          }),
          { _tag: "Update", etag: first0.etag }
        )
        yield* a.client.remove(first1.href, first1.etag)
        const second = yield* poll("A")
        expect([second.updated, second.deleted]).toEqual([1, 1])
        const copies = yield* contents(b)
        expect(copies.length).toBe(4)
        const moved = copies.find((r) =>
          Option.exists(r.master, (m) => Option.contains(m.summary, "meeting 0, moved"))
        )
        expect(Option.map(moved?.master ?? Option.none(), (m) => m.sequence)).toEqual(Option.some(1))
        expect(copies.every((c) => Option.isSome(c.origin))).toBe(true)

        // The poll after one that saw changes lists the calendar in full (coarse ctags, see
        // CalDavProvider.changes) and writes nothing; then polls are idle again.
        const recheck = yield* poll("A")
        expect(recheck.created + recheck.updated + recheck.deleted).toBe(0)
        const third = yield* poll("A")
        expect(third.outcome).toBe("unchanged")
      })
    )
  )

  it.live("a rejected sync token resyncs by merge: no duplicates, no needless writes", () =>
    run(({ a, b, poll }) =>
      Effect.gen(function* () {
        for (let i = 0; i < 3; i++) yield* put(a, `e${i}.ics`, event(`tok-${i}-${randomUUID()}`, `t${i}`))
        yield* poll("A")
        const store = yield* SyncStore.SyncStore
        yield* store.saveCursor(
          "A",
          Option.some(JSON.stringify({ ctag: "stale", token: "http://bogus/sync/0" }))
        )
        yield* put(a, "late.ics", event(`late-${randomUUID()}`, "late"))
        const report = yield* poll("A")
        expect(report.fullResync).toBe(true)
        expect(report.created).toBe(1)
        expect(report.updated).toBe(0)
        expect((yield* contents(b)).length).toBe(4)
      })
    )
  )

  it.live("hostile objects are quarantined with their reasons, and the normal ones sync", () =>
    run(({ a, b, poll }) =>
      Effect.gen(function* () {
        const text = (...lines: ReadonlyArray<string>) =>
          `${["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN", ...lines, "END:VCALENDAR"].join("\r\n")}\r\n`
        const vevent = (uid: string, ...lines: ReadonlyArray<string>) => [
          "BEGIN:VEVENT",
          `UID:${uid}`,
          "DTSTAMP:20260101T000000Z",
          ...lines,
          "END:VEVENT"
        ]
        const id = randomUUID()
        const hostile: ReadonlyArray<readonly [string, string, string]> = [
          [
            "backwards.ics",
            text(...vevent(`backwards-${id}`, "DTSTART:20261124T100000Z", "DTEND:20261124T090000Z")),
            "ends before it starts"
          ],
          [
            "secondly.ics",
            text(
              ...vevent(`secondly-${id}`, "DTSTART:20261124T100000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY")
            ),
            "rules more frequent than once a minute are refused"
          ],
          [
            "two-masters.ics",
            text(
              ...vevent(`twice-${id}`, "DTSTART:20261124T100000Z", "DTEND:20261124T110000Z"),
              ...vevent(`twice-${id}`, "DTSTART:20261125T100000Z", "DTEND:20261125T110000Z")
            ),
            "two masters"
          ],
          [
            "big.ics",
            text(...vevent(`big-${id}`, "DTSTART:20261124T100000Z", `DESCRIPTION:${"x".repeat(1_100_000)}`)),
            "Almanac reads objects up to 1.0 MB"
          ],
          ["todo.ics", text("BEGIN:VTODO", `UID:todo-${id}`, "SUMMARY:Buy milk", "END:VTODO"), "not an event"]
        ]
        // What a server refuses to store never reaches us; the rest must be quarantined.
        const stored: Array<readonly [string, string]> = []
        for (const [name, body, reason] of hostile) {
          const put = yield* Effect.either(a.client.put(`${a.url}${name}`, body, { _tag: "Create" }))
          if (put._tag === "Right") stored.push([name, reason])
        }
        expect(stored.length).toBeGreaterThanOrEqual(3)
        for (let i = 0; i < 3; i++) yield* put(a, `ok${i}.ics`, event(`ok${i}-${id}`, `fine ${i}`, 20 + i))

        const report = yield* poll("A")
        expect(report.created).toBe(3)
        expect(report.quarantined).toBe(stored.length)
        const copies = yield* contents(b)
        expect(
          copies.map((c) => Option.getOrUndefined(Option.flatMap(c.master, (m) => m.summary))).sort()
        ).toEqual(["fine 0", "fine 1", "fine 2"])
        const store = yield* SyncStore.SyncStore
        const quarantined = yield* store.quarantined("A")
        const reasons = new Map(quarantined.map((q) => [q.ref.split("/").at(-1) ?? "", q.reason]))
        for (const [name, reason] of stored) expect(reasons.get(name)).toContain(reason)
        expect(quarantined).toHaveLength(stored.length)

        // The next poll neither copies nor forgets them.
        const again = yield* poll("A")
        expect(again.created).toBe(0)
        expect((yield* store.quarantined("A")).length).toBe(stored.length)
      })
    )
  )

  it.live("a 412 race with a concurrent edit of the copy is retried once and wins", () =>
    run(({ a, b, poll }) =>
      Effect.gen(function* () {
        const uid = `race-${randomUUID()}`
        const href = (yield* put(a, "race.ics", event(uid, "v1"))) && `${a.url}race.ics`
        yield* poll("A")
        // Someone edits the copy on the target: the etag we recorded is now stale.
        const [copyRef] = yield* b.client.listEtags(b.url)
        if (copyRef === undefined) throw new Error("no copy")
        const copyItem = yield* b.client.get(copyRef.href)
        yield* b.client.put(
          copyRef.href,
          copyItem.data.replace("SUMMARY:v1", "SUMMARY:edited on the target"),
          {
            _tag: "Update",
            etag: copyRef.etag
          }
        )
        const current = yield* a.client.get(href)
        yield* a.client.put(href, ICalCodec.serialize(event(uid, "v2")), {
          _tag: "Update",
          etag: current.etag
        })
        const report = yield* poll("A")
        expect(report.updated).toBe(1)
        expect(report.conflicts).toBe(0)
        const [copy] = yield* contents(b)
        expect(Option.flatMap(copy?.master ?? Option.none(), (m) => m.summary)).toEqual(Option.some("v2"))
      })
    )
  )

  it.live("two-way mirror: both sides get the other's events once, and nothing echoes", () =>
    run(
      ({ a, b, poll, requests }) =>
        Effect.gen(function* () {
          yield* put(a, "from-a.ics", event(`a-${randomUUID()}`, "from a"))
          yield* put(b, "from-b.ics", event(`b-${randomUUID()}`, "from b"))
          // Two rounds copy and settle; the third is each side's full listing after a change.
          for (let i = 0; i < 3; i++) {
            yield* poll("A")
            yield* poll("B")
          }
          expect((yield* contents(a)).length).toBe(2)
          expect((yield* contents(b)).length).toBe(2)
          const before = [yield* requests("a"), yield* requests("b")]
          const r1 = yield* poll("A")
          const r2 = yield* poll("B")
          expect(r1.created + r1.updated + r2.created + r2.updated).toBe(0)
          expect(r1.outcome).toBe("unchanged")
          expect(r2.outcome).toBe("unchanged")
          const after = [yield* requests("a"), yield* requests("b")]
          // One PROPFIND per side: each idle calendar costs one request per poll.
          expect((after[0] ?? 0) - (before[0] ?? 0)).toBe(1)
          expect((after[1] ?? 0) - (before[1] ?? 0)).toBe(1)
        }),
      { twoWay: true }
    )
  )

  it.live("a private copy on the server holds none of the source's details", () =>
    run(
      ({ a, b, poll }) =>
        Effect.gen(function* () {
          yield* put(a, "secret.ics", event(`s-${randomUUID()}`, "Therapy session"))
          yield* poll("A")
          const listing = yield* b.client.listEtags(b.url)
          const raw = yield* b.client.get(listing[0]?.href ?? "")
          expect(raw.data).not.toContain("Therapy")
          expect(raw.data).toContain("SUMMARY:Busy")
          expect(raw.data).toContain("CLASS:PRIVATE")
        }),
      { markPrivate: true }
    )
  )

  it.live("the copies on the target hash like the policy applied to the source", () =>
    run(({ a, b, poll, policy }) =>
      Effect.gen(function* () {
        const sources = [event(`h1-${randomUUID()}`, "one", 25), event(`h2-${randomUUID()}`, "two", 26)]
        for (const [i, s] of sources.entries()) yield* put(a, `h${i}.ics`, s)
        yield* poll("A")
        const { CopyMapping } = yield* Effect.promise(() => import("@almanac/core"))
        const expected = (yield* contents(a))
          .map((r) => ContentHash.of(CopyMapping.copyOf("a-to-b", policy, r)))
          .sort()
        const actual = (yield* contents(b)).map(ContentHash.of).sort()
        expect(actual).toEqual(expected)
      })
    )
  )
})

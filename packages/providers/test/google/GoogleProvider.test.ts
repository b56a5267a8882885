/**
 * The Google provider through a sequence against the Google fake (test/fakes/GoogleFake.ts):
 * snapshot, a series created with a moved and a cancelled instance, an idle poll that costs one
 * request, a delta after a person's edit, series updates (moved again, override dropped, instance
 * cancelled), a lost race, delete, a retried create, a rejected sync token — and no invitation.
 */
import { ContentHash, EventModel } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as EventArbitraries from "../../../core/test/support/EventArbitraries.js"
import { GoogleProvider } from "../../src/index.js"
import { wired } from "./support.js"

const CAL = "me@example.org"
const REFUSALS =
  /^(changed instances of a series without the series itself|a cancelled event|changed instances of an event that does not repeat|\d+ changed instance\(s\) at a time the series does not repeat on)/
const ZONE = "Europe/Berlin"
const at = (day: number, hour: number) => EventModel.zoned(ZONE, 2026, 12, day, hour, 0, 0)

const weekly = (
  overrides: ReadonlyArray<EventModel.VEvent>,
  exdates: ReadonlyArray<EventModel.DateValue>
) => ({
  ...EventModel.makeResource(
    EventModel.makeEvent({
      uid: "series-1@source",
      summary: Option.some("Standup"),
      start: at(1, 10),
      end: at(1, 11),
      rrule: Option.some("FREQ=WEEKLY;COUNT=6"),
      exdates,
      class: Option.some("PRIVATE"),
      attendees: [
        { address: "mailto:ana@example.org", name: Option.some("Ana"), scheduleAgent: Option.some("CLIENT") }
      ]
    }),
    overrides
  ),
  origin: Option.some({ relationship: "rel-1", sourceUid: "series-1@source" })
})

const moved = (day: number, hour: number) =>
  EventModel.makeEvent({
    uid: "series-1@source",
    recurrenceId: Option.some(at(8, 10)),
    summary: Option.some("Standup (moved)"),
    start: at(day, hour),
    end: at(day, hour + 1),
    class: Option.some("PRIVATE")
  })

describe("GoogleProvider against the Google fake", () => {
  it.scoped("syncs a series through snapshot, create, idle poll, delta, updates and delete", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired({ pageSize: 2 })
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      expect(provider.capabilities).toEqual({ deltas: true, readOnly: false, scope: "whole", ids: "key" })
      fake.insertAsPerson(CAL, {
        id: "mine00000",
        summary: "Dentist",
        start: { date: "2026-12-24" },
        end: { date: "2026-12-25" }
      })

      // A first poll is a snapshot, paged to the end.
      const first = yield* provider.changes(Option.none())
      if (first._tag !== "Snapshot") throw new Error(first._tag)
      expect(first.items.map((i) => i.ref)).toEqual(["mine00000"])
      expect(first.scope).toEqual({ _tag: "Whole" })
      const [mine] = yield* provider.fetch(["mine00000"])
      expect(
        mine?._tag === "Found" ? [mine.resource.uid, Option.getOrThrow(mine.resource.master).allDay] : mine
      ).toEqual(["mine00000@google.com", true])

      // A series with a moved instance and a cancelled one: the master, then one exception.
      const series = weekly([moved(8, 14)], [at(15, 10)])
      const created = yield* provider.create("rel-1/series-1@source", series)
      expect(fake.events(CAL).map((e) => e.id)).toEqual([
        "mine00000",
        created.ref,
        `${created.ref}_20261208T090000Z`
      ])
      expect(fake.event(CAL, created.ref)?.recurrence).toEqual([
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "EXDATE;TZID=Europe/Berlin:20261215T100000"
      ])
      expect(fake.event(CAL, created.ref)?.attendees).toBeUndefined()
      expect(fake.event(CAL, `${created.ref}_20261208T090000Z`)?.visibility).toBe("private")

      // The next poll sees our own write, with the version create reported.
      const afterCreate = yield* provider.changes(Option.some(first.cursor))
      if (afterCreate._tag !== "Delta") throw new Error(afterCreate._tag)
      expect(afterCreate.changed).toEqual([created])
      const [found] = yield* provider.fetch([created.ref])
      if (found?._tag !== "Found") throw new Error(String(found?._tag))
      expect(found.version).toBe(created.version)
      expect(ContentHash.of(found.resource)).toBe(ContentHash.of(provider.normalize(series)))
      expect(found.resource.origin).toEqual(series.origin)

      // Idle: one request, Unchanged.
      fake.resetLog()
      expect((yield* provider.changes(Option.some(afterCreate.cursor)))._tag).toBe("Unchanged")
      expect(fake.apiRequestCount()).toBe(1)

      // A person edits the copy's master on Google: a delta with a new version for the series.
      fake.edit(CAL, created.ref, { summary: "Standup!" })
      const edited = yield* provider.changes(Option.some(afterCreate.cursor))
      if (edited._tag !== "Delta") throw new Error(edited._tag)
      expect(edited.changed.map((c) => c.ref)).toEqual([created.ref])
      const editedVersion = edited.changed[0]?.version ?? ""
      expect(editedVersion).not.toBe(created.version)
      const [seen] = yield* provider.fetch([created.ref])
      expect(seen?._tag === "Found" ? Option.getOrThrow(seen.resource.master).summary : seen).toEqual(
        Option.some("Standup!")
      )

      // A write with the old version lost the race.
      const lost = yield* Effect.flip(provider.update(created.ref, created.version, series))
      expect(lost._tag).toBe("EtagMismatch")

      // Put back, with the instance moved again.
      const again = weekly([moved(9, 16)], [at(15, 10)])
      const v2 = yield* provider.update(created.ref, editedVersion, again)
      const [f2] = yield* provider.fetch([created.ref])
      expect(f2?._tag === "Found" ? [f2.version, ContentHash.of(f2.resource)] : f2).toEqual([
        v2.version,
        ContentHash.of(provider.normalize(again))
      ])

      // The source drops the override: Google keeps the plain occurrence, which is no difference.
      const plain = weekly([], [at(15, 10)])
      const v3 = yield* provider.update(created.ref, v2.version, plain)
      const [f3] = yield* provider.fetch([created.ref])
      expect(
        f3?._tag === "Found" ? [f3.version, f3.resource.overrides.length, ContentHash.of(f3.resource)] : f3
      ).toEqual([v3.version, 0, ContentHash.of(provider.normalize(plain))])

      // The source moves it once more and then cancels it: the exception is deleted (a cancelled instance).
      const v4 = yield* provider.update(created.ref, v3.version, again)
      const cancelled = weekly([], [at(8, 10), at(15, 10)])
      const v5 = yield* provider.update(created.ref, v4.version, cancelled)
      expect(fake.event(CAL, `${created.ref}_20261208T090000Z`)?.status).toBe("cancelled")
      const [f5] = yield* provider.fetch([created.ref])
      expect(f5?._tag === "Found" ? [f5.version, ContentHash.of(f5.resource)] : f5).toEqual([
        v5.version,
        ContentHash.of(provider.normalize(cancelled))
      ])

      // Delete: the series goes; a second delete (410 at Google) is success.
      const beforeDelete = yield* provider.changes(Option.some(edited.cursor))
      if (beforeDelete._tag !== "Delta") throw new Error(beforeDelete._tag)
      yield* provider.remove(created.ref, v5.version)
      yield* provider.remove(created.ref, v5.version)
      const afterDelete = yield* provider.changes(Option.some(beforeDelete.cursor))
      expect(afterDelete._tag === "Delta" ? [afterDelete.changed, afterDelete.deleted] : afterDelete).toEqual(
        [[], [created.ref]]
      )
      expect((yield* provider.fetch([created.ref]))[0]).toEqual({ _tag: "Missing", ref: created.ref })

      expect(fake.invitations).toEqual([])
      expect(
        fake.requests
          .filter((r) => r.method !== "GET" && r.path.startsWith("/calendar"))
          .every((r) => r.query.sendUpdates === "none")
      ).toBe(true)
    })
  )

  it.scoped("a person's edit of one instance is a new version of its series, read whole", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const created = yield* provider.create("k5", weekly([moved(8, 14)], []))
      const first = yield* provider.snapshot
      expect(first.items).toEqual([created])
      fake.edit(CAL, `${created.ref}_20261208T090000Z`, { summary: "Moved and renamed" })
      const delta = yield* provider.changes(Option.some(first.cursor))
      if (delta._tag !== "Delta") throw new Error(delta._tag)
      expect(delta.changed.map((c) => c.ref)).toEqual([created.ref])
      expect(delta.changed[0]?.version).not.toBe(created.version)
      const [found] = yield* provider.fetch([created.ref])
      expect(found?._tag === "Found" ? [found.version, found.resource.overrides[0]?.summary] : found).toEqual(
        [delta.changed[0]?.version, Option.some("Moved and renamed")]
      )
      // A person cancels another instance on Google: an EXDATE of the series.
      fake.edit(CAL, created.ref, {})
      const before = yield* provider.snapshot
      const del = yield* Effect.promise(() =>
        fetch(`${fake.apiUrl}/calendars/${encodeURIComponent(CAL)}/events/${created.ref}_20261222T090000Z`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${fake.issueTokens().accessToken}` }
        })
      )
      expect(del.status).toBe(204)
      const cancelled = yield* provider.changes(Option.some(before.cursor))
      if (cancelled._tag !== "Delta") throw new Error(cancelled._tag)
      const [withExdate] = yield* provider.fetch([created.ref])
      expect(
        withExdate?._tag === "Found" ? Option.getOrThrow(withExdate.resource.master).exdates : withExdate
      ).toEqual([at(22, 10)])
    })
  )

  it.scoped("a series made a single event loses its instances, and reads back as written", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const created = yield* provider.create("k6", weekly([moved(8, 14)], [at(15, 10)]))
      const single = EventModel.makeResource(
        EventModel.makeEvent({
          uid: "series-1@source",
          summary: Option.some("Once"),
          start: at(1, 10),
          end: at(1, 11)
        })
      )
      const v = yield* provider.update(created.ref, created.version, single)
      const [found] = yield* provider.fetch([created.ref])
      expect(
        found?._tag === "Found"
          ? [found.version, found.resource.overrides, ContentHash.of(found.resource)]
          : found
      ).toEqual([v.version, [], ContentHash.of(provider.normalize(single))])
      expect(fake.event(CAL, `${created.ref}_20261208T090000Z`)?.status).toBe("cancelled")
    })
  )

  it.scoped("a retried create meets its own copy: AlreadyExists with the same ref", () =>
    Effect.gen(function* () {
      const { client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const created = yield* provider.create("rel-1/x", weekly([], []))
      const again = yield* Effect.flip(provider.create("rel-1/x", weekly([], [])))
      expect(again).toMatchObject({ _tag: "AlreadyExists", ref: created.ref })
    })
  )

  it.scoped("a single event is updated and deleted with one request each, If-Match on its etag", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const one = EventModel.makeResource(
        EventModel.makeEvent({
          uid: "one@x",
          start: EventModel.floating(2026, 6, 1, 9),
          end: EventModel.floating(2026, 6, 1, 10)
        })
      )
      const created = yield* provider.create("k1", one)
      fake.resetLog()
      const updated = yield* provider.update(created.ref, created.version, {
        ...one,
        master: Option.map(one.master, (m) => ({ ...m, summary: Option.some("x") }))
      })
      yield* provider.remove(created.ref, updated.version)
      expect(fake.requests.map((r) => r.method)).toEqual(["PUT", "DELETE"])
      expect(fake.requests.every((r) => r.ifMatch !== undefined)).toBe(true)
      // The floating time was placed in the calendar's zone.
      expect(fake.event(CAL, created.ref)?.start).toEqual({
        dateTime: "2026-06-01T09:00:00+02:00",
        timeZone: ZONE
      })
    })
  )

  it.scoped("a rejected sync token is TokenInvalid; the snapshot after it lists everything again", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const created = yield* provider.create("k2", weekly([moved(8, 14)], []))
      const first = yield* provider.snapshot
      fake.expireSyncTokens()
      const refused = yield* Effect.flip(provider.changes(Option.some(first.cursor)))
      expect(refused._tag).toBe("TokenInvalid")
      const again = yield* provider.snapshot
      expect(again.items).toEqual([created])
    })
  )

  it.scoped("what Google cannot hold, and writes to a read-only calendar, are refused with a reason", () =>
    Effect.gen(function* () {
      const { client } = yield* wired()
      const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
      const orphan: EventModel.EventResource = { ...weekly([moved(8, 14)], []), master: Option.none() }
      const refused = yield* Effect.flip(provider.create("k3", orphan))
      expect(refused).toMatchObject({
        _tag: "Rejected",
        detail: "changed instances of a series without the series itself, which Google cannot hold"
      })
      const readOnly = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: false })
      expect(readOnly.capabilities.readOnly).toBe(true)
      expect((yield* Effect.flip(readOnly.create("k4", weekly([], []))))._tag).toBe("Rejected")
    })
  )

  it.scoped(
    "for generated series, create then fetch through the fake gives normalize(r)'s content hash",
    () =>
      Effect.gen(function* () {
        const { client } = yield* wired({ pageSize: 50 })
        const provider = GoogleProvider.make(client, { id: CAL, timeZone: ZONE, writable: true })
        let n = 0
        let written = 0
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(EventArbitraries.resource(), async (resource) => {
              n += 1
              const outcome = await Effect.runPromise(
                provider.create(`prop-${n}`, resource).pipe(
                  Effect.flatMap((v) => Effect.map(provider.fetch([v.ref]), (f) => ({ v, f }))),
                  Effect.either
                )
              )
              if (outcome._tag === "Left") {
                // Only refusals before writing, saying why: never a request Google (the fake) refused.
                expect(outcome.left).toMatchObject({
                  _tag: "Rejected",
                  detail: expect.stringMatching(REFUSALS)
                })
                return
              }
              written += 1
              const [found] = outcome.right.f
              if (found?._tag !== "Found") throw new Error(JSON.stringify(found))
              expect(found.version).toBe(outcome.right.v.version)
              expect(ContentHash.of(found.resource)).toBe(ContentHash.of(provider.normalize(resource)))
            }),
            { numRuns: Math.min(EventArbitraries.numRuns, 200) }
          )
        )
        // About a quarter of generated series are writable (the rest have overrides off their rule, or no master).
        expect(written).toBeGreaterThan(n / 10)
      }),
    { timeout: 120_000 }
  )
})

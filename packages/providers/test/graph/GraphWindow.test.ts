/**
 * Graph's change feed covers a window (GraphProvider.defaultWindow: 365 days back, 730 ahead,
 * from the start of the UTC day), so the window moves forward once a day. The engine, the real
 * SQL store and the Graph provider over the Graph FAKE (see its header; no real Microsoft here),
 * with calendars in memory on the other side: when the day turns, yesterday's delta link is a
 * merge resync over today's window that writes nothing already linked, copies what entered the
 * window at its far end, and deletes nothing that left it at the back, on either side.
 */
import {
  CalendarProvider,
  EventModel,
  MemoryProvider,
  Policy,
  type Relationship,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "@almanac/core"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { GraphProvider } from "../../src/index.js"
import { wired } from "./support.js"

const DAY = 86_400_000

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19)

const memoryEvent = (uid: string, summary: string, startMs: number): EventModel.EventResource => {
  const d = new Date(startMs)
  const at = (hour: number) =>
    EventModel.utc(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), hour, 0)
  return EventModel.makeResource(
    EventModel.makeEvent({ uid, start: at(9), end: at(10), summary: Option.some(summary) })
  )
}

describe("Graph's window moving forward a day", () => {
  it.scopedLive(
    "merges over the new window: nothing re-copied, what entered is copied, nothing deleted",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired({ pageSize: 2 })
        fake.addCalendar({ id: "cal-outlook", name: "Outlook", canEdit: true })
        fake.addCalendar({ id: "cal-copies", name: "Copies", canEdit: true })
        const memory = new MemoryProvider.MemoryCalendars()
        const fromOutlook = memory.add("mem://from-outlook/")
        const home = memory.add("mem://home/")

        // The provider's own default window, at a clock the test turns forward.
        let shift = 0
        const window = (now: number) => GraphProvider.defaultWindow(now + shift)
        const registry: CalendarProvider.ProviderRegistry["Type"] = {
          open: (calendar) =>
            calendar.ref.startsWith("cal-")
              ? Effect.succeed(
                  GraphProvider.make(client, { id: calendar.ref, timeZone: "UTC", canEdit: true }, { window })
                )
              : MemoryProvider.registry(memory).open(calendar)
        }
        const layer = Layer.merge(
          SyncStore.layer.pipe(
            Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
            Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }).pipe(Layer.orDie))
          ),
          Layer.succeed(CalendarProvider.ProviderRegistry, registry)
        )

        yield* Effect.gen(function* () {
          const store = yield* SyncStore.SyncStore
          yield* store.ensureAccount({
            id: "ms",
            kind: "microsoft",
            url: fake.apiUrl,
            username: Option.none()
          })
          yield* store.ensureAccount({ id: "mem", kind: "memory", url: "memory:", username: Option.none() })
          yield* store.ensureCalendar({ id: "O", accountId: "ms", ref: "cal-outlook" })
          yield* store.ensureCalendar({ id: "C", accountId: "ms", ref: "cal-copies" })
          yield* store.ensureCalendar({ id: "F", accountId: "mem", ref: fromOutlook.ref })
          yield* store.ensureCalendar({ id: "H", accountId: "mem", ref: home.ref })
          const policy = Policy.SyncPolicy.make({ markPrivate: false, transp: "keep", attendees: false })
          const relationship = (id: string, source: string, target: string): Relationship.Relationship => ({
            id,
            sourceCalendarId: source,
            targetCalendarId: target,
            pairId: Option.none(),
            policy,
            window: Option.none(),
            paused: false
          })
          // Outlook → memory, and memory → Outlook (the copies' calendar is polled as a target).
          yield* store.saveRelationship(relationship("outlook-out", "O", "F"))
          yield* store.saveRelationship(relationship("home-in", "H", "C"))

          const today = Math.floor(Date.now() / DAY) * DAY
          // Inside today's window only (it leaves at the back), inside both, inside tomorrow's only.
          const starts = {
            old: today - 364 * DAY - DAY / 2,
            mid: today + 10 * DAY,
            far: today + 730 * DAY + DAY / 2
          }
          for (const [name, at] of Object.entries(starts)) {
            fake.insertAsPerson("cal-outlook", {
              subject: `outlook ${name}`,
              start: { dateTime: iso(at), timeZone: "UTC" },
              end: { dateTime: iso(at + 3_600_000), timeZone: "UTC" }
            })
            home.put(`${name}.ics`, memoryEvent(`home-${name}@test`, `home ${name}`, at - (at % DAY)))
          }

          const poll = (id: string) => SyncCycle.run(id, SyncCycle.defaultOptions(new Date()))
          const summaries = (c: MemoryProvider.MemoryCalendar) =>
            c
              .resources()
              .flatMap((r) => Option.toArray(Option.flatMap(r.master, (m) => m.summary)))
              .sort()
          const graphWrites = () =>
            fake.apiRequestCount((r) => r.method === "POST" || r.method === "PATCH" || r.method === "DELETE")

          // Today: what the window holds is copied; the far event is not listed yet.
          yield* poll("O")
          yield* poll("H")
          yield* poll("C")
          yield* poll("F")
          expect(summaries(fromOutlook)).toEqual(["outlook mid", "outlook old"])
          expect(
            fake
              .events("cal-copies")
              .map((e) => e.subject)
              .sort()
          ).toEqual(["home far", "home mid", "home old"])

          // The day turns: yesterday's delta links no longer fit the window.
          shift = DAY
          const writesBefore = fromOutlook.writes
          const graphBefore = graphWrites()
          const outlook = yield* poll("O")
          expect(outlook.fullResync).toBe(true)
          expect([outlook.created, outlook.updated, outlook.deleted]).toEqual([1, 0, 0])
          expect(fromOutlook.writes - writesBefore).toBe(1)
          // The old event left the window: its copy stays, and so does the far one that entered.
          expect(summaries(fromOutlook)).toEqual(["outlook far", "outlook mid", "outlook old"])
          const copies = yield* poll("C")
          expect(copies.fullResync).toBe(true)
          expect([copies.created, copies.updated, copies.deleted]).toEqual([0, 0, 0])
          yield* poll("H")
          yield* poll("F")
          expect(graphWrites() - graphBefore).toBe(0)
          expect(
            fake
              .events("cal-copies")
              .map((e) => e.subject)
              .sort()
          ).toEqual(["home far", "home mid", "home old"])

          // And the next polls, on the new window's delta links, find nothing to do.
          const after = fromOutlook.writes
          for (const id of ["O", "C", "H", "F"]) {
            const report = yield* poll(id)
            expect(report.fullResync).toBe(false)
            expect(report.created + report.updated + report.deleted).toBe(0)
          }
          expect(fromOutlook.writes).toBe(after)
          expect(graphWrites() - graphBefore).toBe(0)
        }).pipe(Effect.provide(layer))
      })
  )
})

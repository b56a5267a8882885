import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option } from "effect"
import { ContentHash, CopyMapping, EventModel } from "../src/index.js"
import { Calendars, connect, engineLayer, policy, syncBoth } from "./support/Harness.js"

const runs = Number(process.env.ALMANAC_PROPERTY_RUNS ?? (process.env.CI ? 200 : 40))

/** One person's edit of the source calendar. `slot` picks which of a few events it touches. */
type Edit =
  | { readonly _tag: "create"; readonly slot: number; readonly summary: string; readonly day: number }
  | { readonly _tag: "retitle"; readonly slot: number; readonly summary: string }
  | { readonly _tag: "move"; readonly slot: number; readonly day: number }
  | { readonly _tag: "recur"; readonly slot: number; readonly count: number }
  | { readonly _tag: "moveInstance"; readonly slot: number; readonly week: number; readonly hour: number }
  | { readonly _tag: "delete"; readonly slot: number }

const text = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim().length > 0)
const slot = fc.integer({ min: 0, max: 4 })
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    _tag: fc.constant("create" as const),
    slot,
    summary: text,
    day: fc.integer({ min: 1, max: 28 })
  }),
  fc.record({ _tag: fc.constant("retitle" as const), slot, summary: text }),
  fc.record({ _tag: fc.constant("move" as const), slot, day: fc.integer({ min: 1, max: 28 }) }),
  fc.record({ _tag: fc.constant("recur" as const), slot, count: fc.integer({ min: 2, max: 6 }) }),
  fc.record({
    _tag: fc.constant("moveInstance" as const),
    slot,
    week: fc.integer({ min: 1, max: 3 }),
    hour: fc.integer({ min: 6, max: 20 })
  }),
  fc.record({ _tag: fc.constant("delete" as const), slot })
)

const withMaster = (r: EventModel.EventResource, f: (m: EventModel.VEvent) => EventModel.VEvent) => ({
  ...r,
  master: Option.map(r.master, f)
})

/** Applies an edit to a source calendar held as name → resource. */
const apply = (source: Map<string, EventModel.EventResource>, e: Edit, seed: string): void => {
  const name = `slot-${e.slot}.ics`
  const current = source.get(name)
  switch (e._tag) {
    case "create":
      if (current !== undefined) return
      source.set(
        name,
        EventModel.makeResource(
          EventModel.makeEvent({
            uid: `${seed}-${e.slot}@prop`,
            start: EventModel.zoned("Europe/Berlin", 2026, 11, e.day, 9),
            end: EventModel.zoned("Europe/Berlin", 2026, 11, e.day, 10),
            summary: Option.some(e.summary),
            description: Option.some(`notes ${e.summary}`),
            location: Option.some(`room ${e.summary}`)
          })
        )
      )
      return
    case "retitle":
      if (current)
        source.set(
          name,
          withMaster(current, (m) => ({ ...m, summary: Option.some(e.summary) }))
        )
      return
    case "move":
      if (current)
        source.set(
          name,
          withMaster(current, (m) => ({
            ...m,
            start: EventModel.zoned("Europe/Berlin", 2026, 11, e.day, 9),
            end: EventModel.zoned("Europe/Berlin", 2026, 11, e.day, 10)
          }))
        )
      return
    case "recur":
      if (current)
        source.set(
          name,
          withMaster(current, (m) => ({ ...m, rrule: Option.some(`FREQ=WEEKLY;COUNT=${e.count}`) }))
        )
      return
    case "moveInstance": {
      const master = current === undefined ? undefined : Option.getOrUndefined(current.master)
      if (current === undefined || master === undefined || Option.isNone(master.rrule)) return
      const s = EventModel.fieldsOf(master.start)
      const day = s.day + 7 * e.week
      const recurrenceId = EventModel.withFields(master.start, { ...s, day })
      const override = EventModel.makeEvent({
        uid: master.uid,
        recurrenceId: Option.some(recurrenceId),
        start: EventModel.withFields(master.start, { ...s, day, hour: e.hour }),
        end: EventModel.withFields(master.start, { ...s, day, hour: e.hour + 1 }),
        summary: master.summary
      })
      const others = current.overrides.filter(
        (o) => JSON.stringify(o.recurrenceId) !== JSON.stringify(override.recurrenceId)
      )
      source.set(name, { ...current, overrides: [...others, override] })
      return
    }
    case "delete":
      source.delete(name)
      return
  }
}

describe("sync properties over random edit sequences", () => {
  it.effect.prop(
    "after each sync the target equals the policy applied to the source, and a second sync writes nothing",
    {
      batches: fc.array(fc.array(edit, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
      markPrivate: fc.boolean()
    },
    ({ batches, markPrivate }) => {
      const calendars = new Calendars()
      const a = calendars.add("mem://a/")
      const b = calendars.add("mem://b/")
      const rel = policy({ markPrivate })
      const source = new Map<string, EventModel.EventResource>()
      let n = 0
      return Effect.gen(function* () {
        yield* connect({ a, b, policy: rel })
        for (const batch of batches) {
          for (const e of batch) {
            const before = new Map(source)
            apply(source, e, `s${n++}`)
            // Mirror the edit into the fake calendar the way a person's client would write it.
            for (const [name, r] of source) if (before.get(name) !== r) a.put(name, r)
            for (const [name] of before) if (!source.has(name)) a.delete(`mem://a/${name}`)
          }
          const copiesBefore = b.resources().map(ContentHash.of).sort()
          const [sourcePoll] = yield* syncBoth()
          if (sourcePoll.halted.length > 0) {
            // The mass-delete guard stopped the run: nothing was written, and it stopped only
            // because most (or all) of the copied events vanished at once. A person confirms.
            expect(b.resources().map(ContentHash.of).sort()).toEqual(copiesBefore)
            const uids = new Set([...source.values()].map((r) => r.uid))
            const origins = b.resources().flatMap((r) => Option.toArray(r.origin))
            const known = origins.length
            const gone = origins.filter((o) => !uids.has(o.sourceUid)).length
            expect((gone === known && known >= 2) || (gone >= 5 && gone > known / 2)).toBe(true)
            yield* syncBoth({ confirmDeletes: true })
          }
          const expected = [...source.values()]
            .map((r) => ContentHash.of(CopyMapping.copyOf("a-to-b", rel, r)))
            .sort()
          expect(b.resources().map(ContentHash.of).sort()).toEqual(expected)
          const writes = b.writes
          yield* syncBoth()
          expect(b.writes).toBe(writes)
          if (markPrivate) {
            // Structurally: a private copy carries no summary but "Busy", no description,
            // location or attendees. (The codec's own properties check the serialized text.)
            for (const copy of b.resources()) {
              for (const e of EventModel.eventsOf(copy)) {
                expect(e.summary).toEqual(Option.some("Busy"))
                expect([e.description, e.location]).toEqual([Option.none(), Option.none()])
                expect(e.attendees).toEqual([])
              }
            }
          }
        }
      }).pipe(Effect.provide(engineLayer(calendars)))
    },
    // a property run is many syncs; on a loaded 2-core machine it can take minutes, which says
    // nothing about correctness
    { fastCheck: { numRuns: runs }, timeout: 300_000 }
  )

  it.effect.prop(
    "a two-way mirror never echoes: each side holds its own events plus one copy of each of the other's",
    {
      onA: fc.integer({ min: 0, max: 5 }),
      onB: fc.integer({ min: 0, max: 5 }),
      rounds: fc.integer({ min: 1, max: 4 })
    },
    ({ onA, onB, rounds }) => {
      const calendars = new Calendars()
      const a = calendars.add("mem://a/")
      const b = calendars.add("mem://b/")
      for (let i = 0; i < onA; i++)
        a.put(
          `a${i}.ics`,
          EventModel.makeResource(
            EventModel.makeEvent({
              uid: `a${i}`,
              start: EventModel.date(2026, 12, i + 1),
              end: EventModel.date(2026, 12, i + 2)
            })
          )
        )
      for (let i = 0; i < onB; i++)
        b.put(
          `b${i}.ics`,
          EventModel.makeResource(
            EventModel.makeEvent({
              uid: `b${i}`,
              start: EventModel.utc(2026, 12, i + 1, 8),
              end: EventModel.utc(2026, 12, i + 1, 9)
            })
          )
        )
      return Effect.gen(function* () {
        yield* connect({ a, b, twoWay: true })
        for (let r = 0; r < rounds; r++) yield* syncBoth()
        expect(a.items.size).toBe(onA + onB)
        expect(b.items.size).toBe(onA + onB)
        const writes = a.writes + b.writes
        yield* syncBoth()
        expect(a.writes + b.writes).toBe(writes)
      }).pipe(Effect.provide(engineLayer(calendars)))
    },
    { fastCheck: { numRuns: Math.max(10, Math.floor(runs / 4)) }, timeout: 300_000 }
  )
})

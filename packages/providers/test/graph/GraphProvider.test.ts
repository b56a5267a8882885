/**
 * What the Graph provider does beyond the shared contract, against the Graph fake: a person's
 * deletion of one occurrence (only an `@removed` of the occurrence's id) is a change of its
 * series; expired delta state and a moved window are TokenInvalid; a create carries the key and
 * a transactionId and invites nobody; a dropped override is written back as the plain occurrence;
 * restoring a deleted occurrence is refused before anything is written.
 */
import { type CalendarProvider, EventModel, ProviderError } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { GraphProvider } from "../../src/index.js"
import { series } from "../contract/ProviderContract.js"
import { wired } from "./support.js"

const ZONE = "Europe/Berlin"
const WINDOW = { start: Date.parse("2026-06-01T00:00:00Z"), end: Date.parse("2027-06-01T00:00:00Z") }

const setup = (window: () => { start: number; end: number } = () => WINDOW) =>
  Effect.gen(function* () {
    const { fake, client } = yield* wired({ pageSize: 2 })
    fake.addCalendar({ id: "cal-p", name: "p", canEdit: true })
    const provider = GraphProvider.make(client, { id: "cal-p", timeZone: ZONE, canEdit: true }, { window })
    return { fake, client, provider }
  })

const cursorOf = (c: CalendarProvider.Changes) => {
  if (c._tag === "Unchanged") throw new Error("expected a listing")
  return c.cursor
}

const copy = (r: EventModel.EventResource): EventModel.EventResource => ({
  ...r,
  origin: Option.some({ relationship: "rel", sourceUid: r.uid })
})

const found = (f: CalendarProvider.Fetched | undefined) => {
  if (f?._tag !== "Found") throw new Error(`expected Found, got ${f?._tag}`)
  return f
}

describe("GraphProvider against the Graph fake", () => {
  it.scoped("a person deleting one occurrence changes its series in the next delta, with the EXDATE", () =>
    Effect.gen(function* () {
      const { fake, client, provider } = yield* setup()
      const written = yield* provider.create("k-series", copy(series()))
      const cursor = cursorOf(yield* provider.changes(Option.none()))
      const occurrences = yield* client.instances("cal-p", written.ref, {
        start: new Date("2026-11-22T00:00:00Z"),
        end: new Date("2026-11-25T00:00:00Z")
      })
      expect(occurrences).toHaveLength(1)
      fake.remove(occurrences[0]?.id ?? "")
      const delta = yield* provider.changes(Option.some(cursor))
      expect(delta._tag).toBe("Delta")
      if (delta._tag !== "Delta") return
      expect(delta.changed.map((c) => c.ref)).toEqual([written.ref])
      expect(delta.deleted).toEqual([])
      const now = found((yield* provider.fetch([written.ref]))[0])
      expect(now.version).toBe(delta.changed[0]?.version)
      expect(Option.map(now.resource.master, (m) => m.exdates.length)).toEqual(Option.some(2))
    })
  )

  it.scoped("expired delta state is TokenInvalid, and so is a cursor whose window has moved on", () =>
    Effect.gen(function* () {
      let window = WINDOW
      const { fake, provider } = yield* setup(() => window)
      yield* provider.create("k-one", copy(series()))
      const cursor = cursorOf(yield* provider.changes(Option.none()))
      window = { start: WINDOW.start + 3 * 86_400_000, end: WINDOW.end + 3 * 86_400_000 }
      const moved = yield* Effect.flip(provider.changes(Option.some(cursor)))
      expect(moved._tag).toBe("TokenInvalid")
      window = WINDOW
      fake.expireDeltaTokens("syncStateNotFound")
      const expired = yield* Effect.flip(provider.changes(Option.some(cursor)))
      expect(expired).toBeInstanceOf(ProviderError.TokenInvalid)
    })
  )

  it.scoped("a create carries the key and a transactionId, and invites no attendee", () =>
    Effect.gen(function* () {
      const { fake, provider } = yield* setup()
      const r = copy(series())
      const withGuests: EventModel.EventResource = {
        ...r,
        master: Option.map(r.master, (m) => ({
          ...m,
          attendees: [
            { address: "mailto:guest@example.org", name: Option.none(), scheduleAgent: Option.none() }
          ]
        }))
      }
      const written = yield* provider.create("k-guests", withGuests)
      const stored = fake.event(written.ref)
      expect(stored?.transactionId).toBe(GraphProvider.transactionIdFor("k-guests"))
      expect(stored?.attendees ?? []).toEqual([])
      expect(fake.invitations).toEqual([])
      const again = yield* Effect.flip(provider.create("k-guests", withGuests))
      expect(again).toEqual(new ProviderError.AlreadyExists({ ref: written.ref }))
      expect(GraphProvider.transactionIdFor("k-guests")).not.toBe(GraphProvider.transactionIdFor("k-other"))
    })
  )

  it.scoped("an override the source dropped is written back as the plain occurrence", () =>
    Effect.gen(function* () {
      const { provider } = yield* setup()
      const r = copy(series())
      const written = yield* provider.create("k-drop", r)
      expect(found((yield* provider.fetch([written.ref]))[0]).resource.overrides).toHaveLength(1)
      const v2 = yield* provider.update(written.ref, written.version, { ...r, overrides: [] })
      const back = found((yield* provider.fetch([written.ref]))[0])
      expect(back.version).toBe(v2.version)
      expect(back.resource.overrides).toEqual([])
    })
  )

  it.scoped("bringing back a deleted occurrence is refused, and nothing is written", () =>
    Effect.gen(function* () {
      const { provider } = yield* setup()
      const r = copy(series())
      const written = yield* provider.create("k-restore", r)
      const restored: EventModel.EventResource = {
        ...r,
        master: Option.map(r.master, (m) => ({ ...m, exdates: [], summary: Option.some("renamed") }))
      }
      const refused = yield* Effect.flip(provider.update(written.ref, written.version, restored))
      expect(refused._tag).toBe("Rejected")
      expect(refused._tag === "Rejected" ? refused.detail : "").toMatch(/cannot restore a deleted occurrence/)
      const now = found((yield* provider.fetch([written.ref]))[0])
      expect(now.version).toBe(written.version)
      expect(Option.flatMap(now.resource.master, (m) => m.summary)).toEqual(Option.some("weekly"))
    })
  )

  it.scoped("what Graph cannot hold is Rejected with the codec's reason", () =>
    Effect.gen(function* () {
      const { provider } = yield* setup()
      const hourly = EventModel.makeResource(
        EventModel.makeEvent({
          uid: "h@x",
          start: EventModel.zoned(ZONE, 2026, 11, 2, 9),
          end: EventModel.zoned(ZONE, 2026, 11, 2, 10),
          rrule: Option.some("FREQ=HOURLY;COUNT=3")
        })
      )
      const refused = yield* Effect.flip(provider.create("k-hourly", hourly))
      expect(refused._tag === "Rejected" ? refused.detail : refused._tag).toBe(
        "Outlook cannot repeat an event every hour"
      )
      expect((yield* provider.snapshot).items).toEqual([])
    })
  )
})

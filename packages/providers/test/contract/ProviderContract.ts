/**
 * The provider contract: what the engine relies on from every provider, run against each of them
 * (the in-memory provider, CalDAV on Xandikos and Radicale, and the providers still to come). A
 * provider is done when it passes. To add one, call `contract` from a `<Name>.test.ts` beside this
 * file with a way to get a fresh, empty, writable calendar and a way to put an original there as a
 * person would (not through the engine's `create`).
 *
 * A read-only provider (`capabilities.readOnly`, a subscribed feed) takes the same tests, with
 * each write asserted to fail with Rejected and change nothing; the items the tests would have
 * written are put there (and removed) by the calendar's publisher instead, through `putOriginal`
 * and `removeOriginal`, and listed before they are fetched, as a poll does.
 */
import { type CalendarProvider, ContentHash, EventModel, ProviderError } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"

export interface Subject {
  readonly provider: CalendarProvider.CalendarProvider
  /** Puts an original on the calendar as a person's client would; its ref. */
  readonly putOriginal: (resource: EventModel.EventResource) => Effect.Effect<string, unknown>
  /** Leaves an item the provider cannot read, where it can hold one; its ref. */
  readonly putMalformed?: Effect.Effect<string, unknown>
  /** Removes an original as its publisher would; required of a read-only provider. */
  readonly removeOriginal?: (ref: string) => Effect.Effect<void, unknown>
}

export interface Options<R> {
  /** A fresh, empty, writable calendar for each test. */
  readonly fresh: Effect.Effect<Subject, unknown, R>
  /** What `fresh` needs (an HTTP client…), provided around each whole test so it outlives `fresh`. */
  readonly layer: Layer.Layer<R, unknown>
  readonly timeout?: number
}

let counter = 0
const uid = (what: string) => `contract-${what}-${Date.now()}-${++counter}@almanac.test`

/** A timed event in a named zone. */
export const single = (summary: string, day = 24): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid: uid("single"),
      start: EventModel.zoned("Europe/Berlin", 2026, 11, day, 9),
      end: EventModel.zoned("Europe/Berlin", 2026, 11, day, 10),
      summary: Option.some(summary),
      location: Option.some(`room for ${summary}`),
      description: Option.some("line one\nline two")
    })
  )

/** A weekly series with a moved instance and an EXDATE. */
export const series = (): EventModel.EventResource => {
  const id = uid("series")
  const master = EventModel.makeEvent({
    uid: id,
    start: EventModel.zoned("America/New_York", 2026, 11, 2, 9),
    end: EventModel.zoned("America/New_York", 2026, 11, 2, 10),
    summary: Option.some("weekly"),
    rrule: Option.some("FREQ=WEEKLY;COUNT=8"),
    exdates: [EventModel.zoned("America/New_York", 2026, 11, 16, 9)]
  })
  const moved = EventModel.makeEvent({
    uid: id,
    recurrenceId: Option.some(EventModel.zoned("America/New_York", 2026, 11, 9, 9)),
    start: EventModel.zoned("America/New_York", 2026, 11, 10, 14),
    end: EventModel.zoned("America/New_York", 2026, 11, 10, 15),
    summary: Option.some("weekly, moved")
  })
  return EventModel.makeResource(master, [moved])
}

/** An all-day event (DATE values, exclusive end). */
export const allDay = (): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid: uid("allday"),
      start: EventModel.date(2026, 12, 24),
      end: EventModel.date(2026, 12, 27),
      summary: Option.some("holidays"),
      transp: Option.some("TRANSPARENT")
    })
  )

/** A copy as the engine writes one: with its origin marker. */
const copyOf = (r: EventModel.EventResource): EventModel.EventResource => ({
  ...r,
  origin: Option.some({ relationship: "contract", sourceUid: r.uid })
})

/** The same event (same UID) under another summary. */
const renamed = (r: EventModel.EventResource, summary: string): EventModel.EventResource => ({
  ...r,
  master: Option.map(r.master, (m) => ({ ...m, summary: Option.some(summary) }))
})

const hashAfter = (provider: CalendarProvider.CalendarProvider, r: EventModel.EventResource) =>
  ContentHash.of(provider.normalize(r))

const fetchOne = (provider: CalendarProvider.CalendarProvider, ref: string) =>
  Effect.map(provider.fetch([ref]), (got) => {
    expect(got).toHaveLength(1)
    const [one] = got
    if (one === undefined) throw new Error("nothing fetched")
    return one
  })

const found = (f: CalendarProvider.Fetched) => {
  if (f._tag !== "Found") throw new Error(`expected Found, got ${f._tag}`)
  return f
}

const cursorOf = (c: CalendarProvider.Changes): string => {
  if (c._tag === "Unchanged") throw new Error("expected a listing")
  return c.cursor
}

const byRef = (items: ReadonlyArray<{ readonly ref: string }>) =>
  [...items].sort((x, y) => x.ref.localeCompare(y.ref))

/**
 * After a listing that saw changes, the next call is Unchanged; or, for a provider whose change
 * tokens may be coarser than the server's clock (CalDAV's recheck), one full listing of exactly
 * what is there, and after it Unchanged.
 */
const settles = (
  provider: CalendarProvider.CalendarProvider,
  cursor: string,
  there: ReadonlyArray<{ readonly ref: string; readonly version: unknown }>
) =>
  Effect.gen(function* () {
    const next = yield* provider.changes(Option.some(cursor))
    if (next._tag === "Unchanged") return
    expect(next._tag).toBe("Snapshot")
    if (next._tag !== "Snapshot") return
    expect(byRef(next.items)).toEqual(byRef(there))
    expect((yield* provider.changes(Option.some(next.cursor)))._tag).toBe("Unchanged")
  })

/** A write to a read-only calendar: refused with Rejected. */
const refused = (write: Effect.Effect<unknown, unknown>) =>
  Effect.map(Effect.flip(write), (e) => {
    expect(e).toBeInstanceOf(ProviderError.Rejected)
  })

/** On a read-only calendar: an item as its publisher put it there, with the version a listing gives it. */
const placed = (subject: Subject, r: EventModel.EventResource) =>
  Effect.gen(function* () {
    const ref = yield* subject.putOriginal(r)
    const item = (yield* subject.provider.snapshot).items.find((i) => i.ref === ref)
    if (item === undefined) throw new Error(`${ref} was put there and is not listed`)
    return item
  })

/**
 * Writes as the engine would, on a writable calendar. On a read-only one, the write is refused and
 * the publisher puts the item there instead: what follows in the test is the same.
 */
const put = (subject: Subject, key: string, r: EventModel.EventResource) =>
  subject.provider.capabilities.readOnly
    ? Effect.zipRight(refused(subject.provider.create(key, r)), placed(subject, r))
    : subject.provider.create(key, r)

const removed = (subject: Subject, item: CalendarProvider.ItemVersion) =>
  Effect.gen(function* () {
    const { provider, removeOriginal } = subject
    if (!provider.capabilities.readOnly) return yield* provider.remove(item.ref, item.version)
    yield* refused(provider.remove(item.ref, item.version))
    if (removeOriginal === undefined) throw new Error("a read-only provider's subject needs removeOriginal")
    yield* removeOriginal(item.ref)
    yield* provider.snapshot
  })

export const contract = <R>(name: string, options: Options<R>): void => {
  const timeout = options.timeout ?? 30_000
  const test = (title: string, body: (s: Subject) => Effect.Effect<void, unknown>) =>
    it.live(title, () => Effect.flatMap(options.fresh, body).pipe(Effect.provide(options.layer)), timeout)

  describe(`the provider contract: ${name}`, () => {
    test("an empty calendar lists nothing, and says what its listing covers", ({ provider }) =>
      Effect.gen(function* () {
        const snap = yield* provider.snapshot
        expect(snap.items).toEqual([])
        expect(snap.scope._tag).toBe(provider.capabilities.scope === "whole" ? "Whole" : "Window")
        const first = yield* provider.changes(Option.none())
        expect(first._tag).toBe("Snapshot")
      }))

    test("create: listed with its version, and fetched as written (after normalize)", (subject) =>
      Effect.gen(function* () {
        const { provider } = subject
        const r = copyOf(single("created"))
        if (provider.capabilities.readOnly) {
          yield* refused(provider.create("almanac-contract-create", r))
          expect((yield* provider.snapshot).items).toEqual([])
        }
        const written = yield* put(subject, "almanac-contract-create", r)
        const snap = yield* provider.snapshot
        expect(snap.items).toContainEqual(written)
        const got = found(yield* fetchOne(provider, written.ref))
        expect(got.version).toBe(written.version)
        expect(ContentHash.of(got.resource)).toBe(hashAfter(provider, r))
        expect(Option.map(got.resource.origin, (o) => o.relationship)).toEqual(Option.some("contract"))
      }))

    test("create under a key already taken answers AlreadyExists with the ref", ({ provider }) =>
      Effect.gen(function* () {
        const r = copyOf(single("twice"))
        if (provider.capabilities.readOnly) {
          yield* refused(provider.create("almanac-contract-twice", r))
          yield* refused(provider.create("almanac-contract-twice", r))
          return expect((yield* provider.snapshot).items).toEqual([])
        }
        const written = yield* provider.create("almanac-contract-twice", r)
        const again = yield* Effect.flip(provider.create("almanac-contract-twice", r))
        expect(again).toBeInstanceOf(ProviderError.AlreadyExists)
        expect(again._tag === "AlreadyExists" ? again.ref : "").toBe(written.ref)
        expect((yield* provider.snapshot).items).toHaveLength(1)
      }))

    test("update at the current version gives a new version; a stale version is EtagMismatch", (subject) =>
      Effect.gen(function* () {
        const { provider } = subject
        const r = copyOf(single("before"))
        const v1 = yield* put(subject, "almanac-contract-update", r)
        const changed = copyOf({
          ...r,
          master: Option.map(r.master, (m) => ({ ...m, summary: Option.some("after") }))
        })
        if (provider.capabilities.readOnly) {
          yield* refused(provider.update(v1.ref, v1.version, changed))
          yield* refused(provider.remove(v1.ref, v1.version))
          // Nothing was lost to the refused writes.
          const still = found(yield* fetchOne(provider, v1.ref))
          expect(still.version).toBe(v1.version)
          return expect(ContentHash.of(still.resource)).toBe(hashAfter(provider, r))
        }
        const v2 = yield* provider.update(v1.ref, v1.version, changed)
        expect(v2.ref).toBe(v1.ref)
        expect(v2.version).not.toBe(v1.version)
        expect(ContentHash.of(found(yield* fetchOne(provider, v1.ref)).resource)).toBe(
          hashAfter(provider, changed)
        )
        const stale = yield* Effect.flip(provider.update(v1.ref, v1.version, r))
        expect(stale._tag).toBe("EtagMismatch")
        const staleRemove = yield* Effect.flip(provider.remove(v1.ref, v1.version))
        expect(staleRemove._tag).toBe("EtagMismatch")
        // Nothing was lost to the refused writes.
        expect(found(yield* fetchOne(provider, v1.ref)).version).toBe(v2.version)
      }))

    test("remove: gone from the next delta (deleted) and the next snapshot", (subject) =>
      Effect.gen(function* () {
        const { provider } = subject
        const kept = yield* put(subject, "almanac-contract-kept", copyOf(single("kept")))
        const doomed = yield* put(subject, "almanac-contract-doomed", copyOf(single("doomed")))
        const cursor = cursorOf(yield* provider.changes(Option.none()))
        if (provider.capabilities.readOnly) {
          yield* refused(provider.remove(doomed.ref, doomed.version))
          if (subject.removeOriginal === undefined)
            throw new Error("a read-only provider's subject needs removeOriginal")
          yield* subject.removeOriginal(doomed.ref)
        } else yield* provider.remove(doomed.ref, doomed.version)
        const next = yield* provider.changes(Option.some(cursor))
        if (provider.capabilities.deltas) {
          expect(next._tag).toBe("Delta")
          if (next._tag === "Delta") {
            expect(next.deleted).toContain(doomed.ref)
            expect(next.changed.map((i) => i.ref)).not.toContain(doomed.ref)
          }
        } else {
          expect(next._tag).toBe("Snapshot")
        }
        const snap = yield* provider.snapshot
        expect(snap.items.map((i) => i.ref)).toEqual([kept.ref])
        expect((yield* fetchOne(provider, doomed.ref))._tag).toBe("Missing")
      }))

    test("changes from the latest cursor, with nothing changed, are Unchanged", (subject) =>
      Effect.gen(function* () {
        const { provider } = subject
        yield* put(subject, "almanac-contract-idle", copyOf(single("idle")))
        const cursor = cursorOf(yield* provider.changes(Option.none()))
        expect((yield* provider.changes(Option.some(cursor)))._tag).toBe("Unchanged")
      }))

    test("a delta after one change lists only that change, and moves the cursor", (subject) =>
      Effect.gen(function* () {
        const { provider, putOriginal } = subject
        const ra = copyOf(single("a"))
        const a = yield* put(subject, "almanac-contract-a", ra)
        const b = yield* put(subject, "almanac-contract-b", copyOf(single("b")))
        const cursor = cursorOf(yield* provider.changes(Option.none()))
        if (provider.capabilities.readOnly) {
          yield* refused(provider.update(a.ref, a.version, renamed(ra, "a, changed")))
          const original = yield* putOriginal(single("someone else's"))
          // Only the publisher's change is one: the refused update changed nothing.
          const next = yield* provider.changes(Option.some(cursor))
          if (next._tag === "Unchanged") throw new Error("the publisher's change was not seen")
          if (next._tag === "Delta") expect(next.changed.map((i) => i.ref)).toEqual([original])
          else
            expect([...next.items].sort((x, y) => x.ref.localeCompare(y.ref))).toEqual(
              [a, b, { ref: original, version: expect.any(String) }].sort((x, y) =>
                x.ref.localeCompare(y.ref)
              )
            )
          return yield* settles(provider, next.cursor, [a, b, { ref: original, version: expect.any(String) }])
        }
        const a2 = yield* provider.update(a.ref, a.version, renamed(ra, "a, changed"))
        const original = yield* putOriginal(single("someone else's"))
        const delta = yield* provider.changes(Option.some(cursor))
        if (!provider.capabilities.deltas) return expect(delta._tag).toBe("Snapshot")
        expect(delta._tag).toBe("Delta")
        if (delta._tag !== "Delta") return
        expect([...delta.changed].sort((x, y) => x.ref.localeCompare(y.ref))).toEqual(
          [a2, { ref: original, version: expect.any(String) }].sort((x, y) => x.ref.localeCompare(y.ref))
        )
        expect(delta.deleted).toEqual([])
        yield* settles(provider, delta.cursor, [a2, b, { ref: original, version: expect.any(String) }])
      }))

    test("a cursor the provider never gave is TokenInvalid", ({ provider }) =>
      Effect.gen(function* () {
        const e = yield* Effect.flip(provider.changes(Option.some("not a cursor of this calendar")))
        expect(e._tag).toBe("TokenInvalid")
      }))

    test("fetching a ref that is not there is Missing, beside what is", (subject) =>
      Effect.gen(function* () {
        const { provider } = subject
        const there = yield* put(subject, "almanac-contract-there", copyOf(single("there")))
        const gone = yield* put(subject, "almanac-contract-gone", copyOf(single("gone")))
        yield* removed(subject, gone)
        const got = yield* provider.fetch([there.ref, gone.ref])
        expect(got.map((g) => [g._tag, g.ref]).sort()).toEqual(
          [
            ["Found", there.ref],
            ["Missing", gone.ref]
          ].sort()
        )
      }))

    test("an item it cannot read is Bad, with a reason, and the rest is read", (subject) =>
      Effect.gen(function* () {
        const { provider, putMalformed } = subject
        if (putMalformed === undefined) return
        const bad = yield* putMalformed
        const good = yield* subject.putOriginal(single("readable"))
        expect((yield* provider.snapshot).items.map((i) => i.ref)).toContain(bad)
        const got = yield* provider.fetch([bad, good])
        const b = got.find((g) => g.ref === bad)
        expect(b?._tag).toBe("Bad")
        expect(b?._tag === "Bad" ? b.reason : "").not.toBe("")
        expect(got.find((g) => g.ref === good)?._tag).toBe("Found")
      }))

    test("normalize is idempotent", ({ provider }) =>
      Effect.sync(() => {
        for (const r of [single("n"), series(), allDay(), copyOf(series())]) {
          const once = provider.normalize(r)
          expect(provider.normalize(once)).toEqual(once)
        }
      }))

    test("a series (master, moved instance, EXDATE) and an all-day event round-trip with equal hashes", (subject) =>
      Effect.gen(function* () {
        const { provider, putOriginal } = subject
        for (const [i, r] of [copyOf(series()), copyOf(allDay())].entries()) {
          const written = yield* put(subject, `almanac-contract-series-${i}`, r)
          const back = found(yield* fetchOne(provider, written.ref)).resource
          expect(ContentHash.of(back)).toBe(hashAfter(provider, r))
          expect(back.overrides).toHaveLength(r.overrides.length)
        }
        // An original written by a person's client reads back the same way.
        const original = series()
        const ref = provider.capabilities.readOnly
          ? (yield* placed(subject, original)).ref
          : yield* putOriginal(original)
        const back = found(yield* fetchOne(provider, ref)).resource
        expect(ContentHash.of(provider.normalize(back))).toBe(hashAfter(provider, original))
        expect(Option.isNone(back.origin)).toBe(true)
      }))
  })
}

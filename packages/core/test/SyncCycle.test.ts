import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  ContentHash,
  CopyMapping,
  EventModel,
  type MemoryProvider,
  SyncCycle,
  SyncPlanner,
  SyncProgress,
  SyncStore
} from "../src/index.js"
import { Calendars, connect, engineLayer, event, policy, poll, syncBoth } from "./support/Harness.js"

const setup = (
  opts: {
    twoWay?: boolean
    markPrivate?: boolean
    a?: MemoryProvider.Options
    b?: MemoryProvider.Options
  } = {}
) => {
  const calendars = new Calendars()
  const a = calendars.add("mem://a/", opts.a)
  const b = calendars.add("mem://b/", opts.b)
  const layer = engineLayer(calendars)
  const rel = policy({ markPrivate: opts.markPrivate ?? false })
  const run = <A, E>(
    f: Effect.Effect<A, E, SyncStore.SyncStore | import("../src/index.js").CalendarProvider.ProviderRegistry>
  ) =>
    Effect.gen(function* () {
      yield* connect({ a, b, policy: rel, twoWay: opts.twoWay ?? false })
      return yield* f
    }).pipe(Effect.provide(layer))
  return { a, b, run, rel }
}

const expectedCopies = (
  relationshipId: string,
  rel: ReturnType<typeof policy>,
  sources: ReadonlyArray<EventModel.EventResource>
) => sources.map((r) => ContentHash.of(CopyMapping.copyOf(relationshipId, rel, r))).sort()

const hashes = (resources: ReadonlyArray<EventModel.EventResource>) => resources.map(ContentHash.of).sort()

describe("SyncCycle on in-memory calendars", () => {
  it.effect("copies every event, and a second sync writes nothing", () => {
    const { a, b, run, rel } = setup()
    for (let i = 0; i < 5; i++) a.put(`e${i}.ics`, event(`meeting ${i}`))
    return run(
      Effect.gen(function* () {
        const [first] = yield* syncBoth()
        expect(first.created).toBe(5)
        expect(hashes(b.resources())).toEqual(expectedCopies("a-to-b", rel, a.resources()))
        const store = yield* SyncStore.SyncStore
        const [run] = yield* store.runs("A", 1)
        expect(run?.outcome).toBe("synced")
        expect(run?.summary).toMatchObject({ created: 5, updated: 0, deleted: 0, fullResync: false })
        const writes = b.writes
        const [again, target] = yield* syncBoth()
        expect(b.writes).toBe(writes)
        expect(again.outcome).toBe("unchanged")
        expect(target.created + target.updated + target.deleted).toBe(0)
        // A reconciling poll that finds nothing to do is counted on the calendar, not logged as a run.
        const reconciled = yield* poll("A", { reconcile: true })
        expect(reconciled).toMatchObject({ outcome: "synced", created: 0, updated: 0, deleted: 0 })
        expect((yield* store.runs("A", 10)).length).toBe(1)
      })
    )
  })

  it.effect("an unchanged poll reads no links: they are read only once the calendar has changed", () => {
    const { a, run } = setup()
    for (let i = 0; i < 3; i++) a.put(`e${i}.ics`, event(`meeting ${i}`))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const store = yield* SyncStore.SyncStore
        const read: Array<string> = []
        const counting: SyncStore.SyncStore["Type"] = {
          ...store,
          links: (relationshipId) => {
            read.push(relationshipId)
            return store.links(relationshipId)
          }
        }
        const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.provideService(effect, SyncStore.SyncStore, counting)
        const [idle, idleTarget] = yield* counted(syncBoth())
        expect([idle.outcome, idleTarget.outcome]).toEqual(["unchanged", "unchanged"])
        expect(read).toEqual([])
        a.put("e3.ics", event("meeting 3"))
        const changed = yield* counted(poll("A"))
        expect(changed.created).toBe(1)
        expect(read).toEqual(["a-to-b"])
      })
    )
  })

  it.effect("an idle poll is one write to the store: the poll and its next time, together", () => {
    const { a, run } = setup()
    a.put("e0.ics", event("meeting 0"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const store = yield* SyncStore.SyncStore
        const calls: Array<string> = []
        const spy = new Proxy(store, {
          get(target, key, receiver) {
            const value: unknown = Reflect.get(target, key, receiver)
            if (typeof value !== "function") return value
            return (...args: ReadonlyArray<unknown>) => {
              calls.push(String(key))
              return Reflect.apply(value, target, args)
            }
          }
        })
        const next = Date.parse("2026-11-21T12:10:00Z")
        const idle = yield* Effect.provideService(poll("A", { nextPollAt: next }), SyncStore.SyncStore, spy)
        expect(idle.outcome).toBe("unchanged")
        const writes = calls.filter((c) =>
          /^(record|save|set|delete|forget|quarantine|release|ensure)/.test(c)
        )
        expect(writes).toEqual(["recordPoll"])
        expect(yield* store.nextPollAt("A")).toEqual(Option.some(next))
        // With no time given, the poll leaves the recorded one alone.
        yield* poll("A")
        expect(yield* store.nextPollAt("A")).toEqual(Option.some(next))
      })
    )
  })

  it.effect("a reconciling poll records when it reconciled; a poll that did not keeps that time", () => {
    const { a, run } = setup()
    a.put("e0.ics", event("meeting 0"))
    return run(
      Effect.gen(function* () {
        const store = yield* SyncStore.SyncStore
        const reconciledAt = (at: string) =>
          SyncCycle.run("A", { ...SyncCycle.defaultOptions(new Date(at)), reconcile: true })
        const plainAt = (at: string) => SyncCycle.run("A", SyncCycle.defaultOptions(new Date(at)))
        const lastReconcile = Effect.map(store.calendar("A"), (c) =>
          Option.flatMap(c, (r) => r.lastReconcileAt)
        )
        yield* plainAt("2026-11-21T12:00:00Z")
        yield* reconciledAt("2026-11-21T13:00:00Z")
        expect(yield* lastReconcile).toEqual(Option.some(Date.parse("2026-11-21T13:00:00Z")))
        yield* plainAt("2026-11-21T14:00:00Z")
        expect(yield* lastReconcile).toEqual(Option.some(Date.parse("2026-11-21T13:00:00Z")))
      })
    )
  })

  it.effect("carries updates (with a higher SEQUENCE) and deletions", () => {
    const { a, b, run, rel } = setup()
    const one = a.put("one.ics", event("one"))
    const two = a.put("two.ics", event("two"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const original = a.resourceAt(one)
        if (original === undefined) throw new Error("missing")
        const changed = {
          ...original,
          master: Option.map(original.master, (m) => ({ ...m, summary: Option.some("one, moved") }))
        }
        a.put("one.ics", changed)
        a.delete(two)
        const [report] = yield* syncBoth()
        expect(report.updated).toBe(1)
        expect(report.deleted).toBe(1)
        expect(b.items.size).toBe(1)
        const copy = b.resources()[0]
        expect(Option.flatMap(copy?.master ?? Option.none(), (m) => m.summary)).toEqual(
          Option.some("one, moved")
        )
        expect(Option.map(copy?.master ?? Option.none(), (m) => m.sequence)).toEqual(Option.some(1))
        expect(hashes(b.resources())).toEqual(expectedCopies("a-to-b", rel, a.resources()))
      })
    )
  })

  it.effect("a private copy is a Busy block with no details", () => {
    const { a, b, run } = setup({ markPrivate: true })
    a.put(
      "secret.ics",
      event("Doctor appointment", {
        description: Option.some("bring the referral letter"),
        location: Option.some("Elm Street clinic"),
        attendees: [
          {
            address: "mailto:doctor@clinic.example",
            name: Option.some("Dr Who"),
            scheduleAgent: Option.none()
          }
        ]
      })
    )
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const copy = JSON.stringify(b.resources())
        for (const secret of ["Doctor", "referral", "Elm Street", "doctor@clinic", "Dr Who"])
          expect(copy).not.toContain(secret)
        expect(copy).toContain("Busy")
      })
    )
  })

  it.effect("a rejected sync token means one merge against the links: no duplicates, no writes", () => {
    const { a, b, run } = setup()
    for (let i = 0; i < 4; i++) a.put(`e${i}.ics`, event(`e${i}`))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        a.put("new.ics", event("new one"))
        a.faults.tokenInvalid = 1
        const writes = b.writes
        const report = yield* poll("A")
        expect(report.fullResync).toBe(true)
        expect(report.created).toBe(1)
        expect(b.writes - writes).toBe(1)
        expect(b.items.size).toBe(5)
        const next = yield* poll("A")
        expect(next.fullResync).toBe(false)
      })
    )
  })

  it.effect("a 412 on update refetches and retries exactly once", () => {
    const { a, b, run } = setup()
    const href = a.put("x.ics", event("x"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const copyHref = [...b.items.keys()][0] ?? ""
        const source = a.resourceAt(href)
        if (source === undefined) throw new Error("missing")
        a.put("x.ics", {
          ...source,
          master: Option.map(source.master, (m) => ({ ...m, summary: Option.some("x2") }))
        })
        b.faults.races.set(copyHref, 1)
        const before = b.requests
        const report = yield* poll("A")
        expect(report.updated).toBe(1)
        expect(report.conflicts).toBe(0)
        // update (412), fetch of the current version, update again
        expect(b.requests - before).toBe(3)
      })
    )
  })

  it.effect("a second 412 in a row is a recorded conflict, and the rest of the calendar syncs", () => {
    const { a, b, run } = setup()
    const href = a.put("x.ics", event("x"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const copyHref = [...b.items.keys()][0] ?? ""
        const source = a.resourceAt(href)
        if (source === undefined) throw new Error("missing")
        a.put("x.ics", {
          ...source,
          master: Option.map(source.master, (m) => ({ ...m, summary: Option.some("x2") }))
        })
        a.put("y.ics", event("y"))
        b.faults.races.set(copyHref, 2)
        const report = yield* poll("A")
        expect(report.conflicts).toBe(1)
        expect(report.created).toBe(1)
        const store = yield* SyncStore.SyncStore
        expect((yield* store.conflicts("a-to-b", 10)).length).toBe(1)
        // The cursor stayed, so the next poll tries again and wins.
        const retried = yield* poll("A")
        expect(retried.updated).toBe(1)
        expect(JSON.stringify(b.resources())).toContain("x2")
      })
    )
  })

  it.effect(
    "a copy the target refuses quarantines its original; the rest syncs; a changed original is tried again",
    () => {
      const { a, b, run } = setup()
      const href = a.put("refused.ics", event("refused"))
      a.put("fine.ics", event("fine"))
      b.faults.refuse.add("refused")
      return run(
        Effect.gen(function* () {
          const first = yield* poll("A")
          expect([first.created, first.quarantined, first.outcome]).toEqual([1, 1, "synced"])
          const store = yield* SyncStore.SyncStore
          expect((yield* store.quarantined("A")).map((q) => q.ref)).toEqual([href])
          // Not retried while the original is unchanged…
          const writes = b.requests
          a.put("other.ics", event("other"))
          yield* poll("A")
          expect(b.requests - writes).toBe(1)
          // …and tried again once it changes.
          b.faults.refuse.clear()
          const original = a.resourceAt(href)
          if (original === undefined) throw new Error("missing")
          a.put("refused.ics", {
            ...original,
            master: Option.map(original.master, (m) => ({ ...m, summary: Option.some("accepted now") }))
          })
          const later = yield* poll("A")
          expect(later.created).toBe(1)
          expect(b.items.size).toBe(3)
          expect((yield* store.quarantined("A")).length).toBe(0)
        })
      )
    }
  )

  it.effect("a sync killed in the middle converges on the next run without duplicates", () => {
    const { a, b, run, rel } = setup()
    for (let i = 0; i < 10; i++) a.put(`e${i}.ics`, event(`e${i}`))
    return run(
      Effect.gen(function* () {
        b.faults.writesBeforeFailure = 4
        const failed = yield* Effect.either(poll("A", { writeConcurrency: 1 }))
        expect(failed._tag).toBe("Left")
        expect(b.items.size).toBe(4)
        b.faults.writesBeforeFailure = undefined
        const report = yield* poll("A")
        expect(report.created).toBe(6)
        expect(hashes(b.resources())).toEqual(expectedCopies("a-to-b", rel, a.resources()))
      })
    )
  })

  it.effect("a copy written before a crash but never recorded is adopted, not duplicated", () => {
    const { a, b, run, rel } = setup()
    const source = event("lost ack")
    a.put("lost.ics", source)
    return run(
      Effect.gen(function* () {
        // The PUT landed, the process died before recording it: the copy sits under its creation key.
        b.put(SyncPlanner.copyKey("a-to-b", source.uid), CopyMapping.copyOf("a-to-b", rel, source))
        const report = yield* poll("A")
        expect(report.conflicts).toBe(0)
        expect(b.items.size).toBe(1)
        const again = yield* poll("A")
        expect(again.outcome).toBe("unchanged")
      })
    )
  })

  it.effect("a source that suddenly lists nothing halts until a person confirms", () => {
    const { a, b, run } = setup()
    const hrefs = Array.from({ length: 6 }, (_, i) => a.put(`e${i}.ics`, event(`e${i}`)))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        for (const h of hrefs) a.delete(h)
        const halted = yield* poll("A")
        expect(halted.halted.length).toBe(1)
        expect(b.items.size).toBe(6)
        const stillHalted = yield* poll("A")
        expect(stillHalted.halted.length).toBe(1)
        expect(b.items.size).toBe(6)
        const confirmed = yield* poll("A", { confirmDeletes: true })
        expect(confirmed.deleted).toBe(6)
        expect(b.items.size).toBe(0)
      })
    )
  })

  it.effect("ordinary deletions of a few events pass the guard", () => {
    const { a, b, run } = setup()
    const hrefs = Array.from({ length: 10 }, (_, i) => a.put(`e${i}.ics`, event(`e${i}`)))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        for (const h of hrefs.slice(0, 3)) a.delete(h)
        const report = yield* poll("A")
        expect(report.halted).toEqual([])
        expect(b.items.size).toBe(7)
      })
    )
  })

  it.effect("two-way: each side's events appear on the other, copies are never copied back", () => {
    const { a, b, run } = setup({ twoWay: true })
    a.put("mine.ics", event("from a"))
    b.put("theirs.ics", event("from b"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        yield* syncBoth()
        expect(a.items.size).toBe(2)
        expect(b.items.size).toBe(2)
        const writes = a.writes + b.writes
        yield* syncBoth()
        yield* syncBoth()
        expect(a.writes + b.writes).toBe(writes)
      })
    )
  })

  it.effect("two-way: a copy edited on the other side is put back, never copied back as an original", () => {
    const { a, b, run } = setup({ twoWay: true })
    a.put("mine.ics", event("from a"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const [ref] = [...b.items.keys()]
        const copy = ref === undefined ? undefined : b.resourceAt(ref)
        if (ref === undefined || copy === undefined) throw new Error("no copy")
        b.put(ref.slice("mem://b/".length), {
          ...copy,
          master: Option.map(copy.master, (m) => ({ ...m, summary: Option.some("edited copy") }))
        })
        yield* syncBoth()
        yield* syncBoth()
        expect(a.items.size).toBe(1)
        expect(b.items.size).toBe(1)
        expect(JSON.stringify(b.resources())).not.toContain("edited copy")
      })
    )
  })

  it.effect("with the state lost, existing copies are adopted and never copied again", () => {
    const calendars = new Calendars()
    const a = calendars.add("mem://a/")
    const b = calendars.add("mem://b/")
    a.put("mine.ics", event("from a"))
    b.put("theirs.ics", event("from b"))
    const once = Effect.gen(function* () {
      yield* connect({ a, b, twoWay: true })
      yield* syncBoth()
      yield* syncBoth()
    }).pipe(Effect.provide(engineLayer(calendars)))
    return Effect.gen(function* () {
      yield* once
      // A fresh database: every item is unknown, copies included.
      yield* once
      expect(a.items.size).toBe(2)
      expect(b.items.size).toBe(2)
    })
  })

  it.effect("one-way: an edited copy is put back and a deleted copy is recreated", () => {
    const { a, b, run } = setup()
    a.put("one.ics", event("one"))
    a.put("two.ics", event("two"))
    return run(
      Effect.gen(function* () {
        yield* syncBoth()
        const [first, second] = [...b.items.keys()]
        const copy = first === undefined ? undefined : b.resourceAt(first)
        if (first === undefined || second === undefined || copy === undefined)
          throw new Error("missing copies")
        b.put(first.slice("mem://b/".length), {
          ...copy,
          master: Option.map(copy.master, (m) => ({
            ...m,
            summary: Option.some("edited by hand")
          }))
        })
        b.delete(second)
        const report = yield* poll("B")
        expect(report.updated).toBe(1)
        expect(report.created).toBe(1)
        expect(JSON.stringify(b.resources())).not.toContain("edited by hand")
        expect(b.items.size).toBe(2)
      })
    )
  })

  it.effect("a malformed item is quarantined and the rest of the calendar syncs", () => {
    const { a, b, run } = setup()
    const bad = a.put("bad.ics", event("bad"))
    a.put("good.ics", event("good"))
    a.faults.bad.add(bad)
    return run(
      Effect.gen(function* () {
        const [report] = yield* syncBoth()
        expect(report.quarantined).toBe(1)
        expect(report.created).toBe(1)
        const store = yield* SyncStore.SyncStore
        expect((yield* store.quarantined("A")).map((q) => q.ref)).toEqual([bad])
        expect(b.items.size).toBe(1)
      })
    )
  })

  it.effect("an item listed but missing when fetched is retried next poll, never deleted", () => {
    const { a, b, run } = setup()
    a.put("one.ics", event("one"))
    const late = a.put("late.ics", event("late"))
    a.faults.missing.add(late)
    return run(
      Effect.gen(function* () {
        const first = yield* poll("A")
        expect(first.outcome).toBe("incomplete")
        expect(b.items.size).toBe(1)
        a.faults.missing.clear()
        const second = yield* poll("A")
        expect(second.created).toBe(1)
        expect(b.items.size).toBe(2)
      })
    )
  })

  it.effect("dry run plans without writing or moving the cursor", () => {
    const { a, b, run } = setup()
    a.put("one.ics", event("one"))
    return run(
      Effect.gen(function* () {
        const report = yield* poll("A", { dryRun: true })
        expect(report.created).toBe(1)
        expect(b.items.size).toBe(0)
        const store = yield* SyncStore.SyncStore
        const cal = yield* store.calendar("A")
        expect(Option.flatMap(cal, (c) => c.cursor)).toEqual(Option.none())
      })
    )
  })

  it.effect("events outside the sync window are not copied", () => {
    const calendars = new Calendars()
    const a = calendars.add("mem://a/")
    const b = calendars.add("mem://b/")
    a.put("soon.ics", event("soon"))
    a.put(
      "later.ics",
      event("next year", { start: EventModel.utc(2027, 12, 1, 9), end: EventModel.utc(2027, 12, 1, 10) })
    )
    return Effect.gen(function* () {
      yield* connect({ a, b, window: { pastDays: 7, futureDays: 30 } })
      const report = yield* poll("A")
      expect(report.created).toBe(1)
      expect(b.items.size).toBe(1)
    }).pipe(Effect.provide(engineLayer(calendars)))
  })

  it.effect("a copy under its key that is not ours is refused, not overwritten", () => {
    const { a, b, run } = setup()
    const source = event("taken")
    a.put("taken.ics", source)
    return run(
      Effect.gen(function* () {
        // Something else sits where our copy would go (same key, no origin of ours).
        b.put(SyncPlanner.copyKey("a-to-b", source.uid), event("a stranger"))
        const report = yield* poll("A")
        expect([report.created, report.quarantined, report.conflicts]).toEqual([0, 1, 1])
        expect(b.writes).toBe(0)
        expect(JSON.stringify(b.resources())).toContain("a stranger")
      })
    )
  })

  it.effect("a target that rewrites what it stores (normalize) is not taken for a person's edit", () => {
    // Like Google with floating times: the target keeps its own form of each copy.
    const shout = (r: EventModel.EventResource): EventModel.EventResource => ({
      ...r,
      master: Option.map(r.master, (m) => ({ ...m, summary: Option.map(m.summary, (t) => t.toUpperCase()) }))
    })
    const { a, b, run } = setup({ twoWay: true, b: { normalize: shout } })
    a.put("quiet.ics", event("quiet"))
    return run(
      Effect.gen(function* () {
        const [first] = yield* syncBoth()
        expect(first.created).toBe(1)
        expect(JSON.stringify(b.resources())).toContain("QUIET")
        const writes = a.writes + b.writes
        // The target's poll reads its own form back: no repair, no echo; the source's poll: nothing.
        const [again, target] = yield* syncBoth({ reconcile: true })
        expect([again.updated, target.updated, target.created, again.conflicts]).toEqual([0, 0, 0, 0])
        expect(a.writes + b.writes).toBe(writes)
        // The target re-tags the copy without changing it (a new version, the same content in its
        // own form): bookkeeping only, not an edit to put back.
        const [ref] = [...b.items.keys()]
        const stored = ref === undefined ? undefined : b.resourceAt(ref)
        if (ref === undefined || stored === undefined) throw new Error("no copy")
        b.put(ref.slice("mem://b/".length), stored)
        const retagged = yield* poll("B")
        expect(retagged.updated).toBe(0)
        expect(retagged.plans.flatMap((p) => p.actions.map((x) => x._tag))).toContain("Track")
        expect(a.writes + b.writes).toBe(writes)
      })
    )
  })

  it.effect("a read-only target is never written, and its own events still sync out", () => {
    const { a, b, run } = setup({ twoWay: true, b: { capabilities: { readOnly: true } } })
    a.put("mine.ics", event("mine"))
    b.put("feed.ics", event("from the feed"))
    return run(
      Effect.gen(function* () {
        const [toFeed, fromFeed] = yield* syncBoth()
        expect(toFeed.created).toBe(0)
        expect(toFeed.plans.flatMap((p) => p.actions.map((x) => x._tag))).toEqual(["Skip"])
        expect(b.writes).toBe(0)
        expect(fromFeed.created).toBe(1)
        expect(a.resources()).toHaveLength(2)
      })
    )
  })

  it.effect("a window-scoped source: an event outside the window is kept, one deleted inside it goes", () => {
    const now = new Date("2026-11-21T12:00:00Z").getTime()
    const day = 86_400_000
    const { a, b, run } = setup({ a: { window: { start: now - 7 * day, end: now + 30 * day } } })
    const soon = event("soon")
    const leaving = event("leaving the window")
    a.put("soon.ics", soon)
    const leavingRef = a.put("leaving.ics", leaving)
    return run(
      Effect.gen(function* () {
        const first = yield* poll("A")
        expect(first.created).toBe(2)
        // The event moves out of the window: the listing no longer shows it, but it is not gone.
        a.put("leaving.ics", {
          ...leaving,
          master: Option.map(leaving.master, (m) => ({
            ...m,
            start: EventModel.utc(2027, 6, 1, 9),
            end: EventModel.utc(2027, 6, 1, 10)
          }))
        })
        const reconciled = yield* poll("A", { reconcile: true })
        expect(reconciled.deleted).toBe(0)
        expect(reconciled.halted).toEqual([])
        expect(b.items.size).toBe(2)
        // Deleted for real: the fetch that confirms it answers Missing, and the copy goes.
        a.delete(leavingRef)
        const after = yield* poll("A", { reconcile: true })
        expect(after.deleted).toBe(1)
        expect(b.items.size).toBe(1)
      })
    )
  })
})

describe("SyncCycle progress", () => {
  it.effect("reports the listing, each fetched batch and each write, with their totals", () => {
    const { a, run } = setup()
    const n = SyncProgress.fetchBatch * 2 + 30
    for (let i = 0; i < n; i++) a.put(`p${i}.ics`, event(`p ${i}`))
    const seen: Array<SyncProgress.Progress> = []
    const listener: SyncProgress.SyncProgressShape = {
      report: (p) => Effect.sync(() => void seen.push(p))
    }
    return run(
      Effect.gen(function* () {
        const report = yield* poll("A").pipe(Effect.provideService(SyncProgress.SyncProgress, listener))
        expect(report.created).toBe(n)
        expect(seen[0]).toEqual({ calendarId: "A", phase: "list", done: 0, total: 0 })
        const fetches = seen.filter((p) => p.phase === "fetch")
        expect(fetches.map((p) => p.done)).toEqual([SyncProgress.fetchBatch, SyncProgress.fetchBatch * 2, n])
        expect(fetches.every((p) => p.total === n)).toBe(true)
        const writes = seen.filter((p) => p.phase === "write")
        expect(writes.map((p) => p.done)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
        expect(writes.every((p) => p.total === n)).toBe(true)
        // Nobody listening is the default: the same poll runs without a listener.
        seen.length = 0
        a.put("late.ics", event("late"))
        expect((yield* poll("A")).created).toBe(1)
        expect(seen).toEqual([])
      })
    )
  })
})

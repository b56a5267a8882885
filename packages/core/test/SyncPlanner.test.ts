import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { EventModel, SyncPlan, SyncPlanner } from "../src/index.js"

const resource = EventModel.makeResource(
  EventModel.makeEvent({
    uid: "u",
    start: EventModel.utc(2026, 1, 1, 9),
    end: EventModel.utc(2026, 1, 1, 10)
  })
)

const link = (uid: string, ref: string, hash = "h1"): SyncPlan.Link => ({
  relationshipId: "r",
  sourceUid: uid,
  key: SyncPlanner.copyKey("r", uid),
  sourceRef: ref,
  sourceVersion: `"1"`,
  targetRef: `t/${uid}`,
  targetVersion: `"t1"`,
  contentHash: hash,
  sequence: 0
})

const source = (uid: string, ref: string, hash = "h1", version = `"1"`): SyncPlanner.SourceEvent => ({
  ref,
  version,
  uid,
  isCopy: false,
  inWindow: true,
  copy: resource,
  hash
})

const whole = { _tag: "Whole" } as const

/** A view of a listing over the whole calendar. */
const view = (
  v: Pick<SyncPlanner.CalendarView, "complete" | "listed" | "deleted"> & Partial<SyncPlanner.CalendarView>
): SyncPlanner.CalendarView => ({ scope: whole, confirmedGone: new Set(), ...v })

const noGuard = { ...SyncPlanner.defaultGuard }
const tags = (plan: SyncPlan.Plan) => plan.actions.map((a) => a._tag)

describe("planSource", () => {
  it("keys copies deterministically and differently per relationship, as copies were always named", () => {
    expect(SyncPlanner.copyKey("r", "u")).toBe(SyncPlanner.copyKey("r", "u"))
    expect(SyncPlanner.copyKey("r", "u")).not.toBe(SyncPlanner.copyKey("r2", "u"))
    expect(SyncPlanner.copyKey("r", "weird/uid ü")).toMatch(/^almanac-[0-9a-f]{32}$/)
    // The key of today's copies: CalDAV copies made before the port keep their names (<key>.ics).
    expect(SyncPlanner.copyKey("a-to-b", "event-1@test")).toBe(
      `almanac-${createHash("sha256").update("a-to-b\u0000event-1@test").digest("hex").slice(0, 32)}`
    )
  })

  it("creates new, updates changed, skips unchanged, deletes gone", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [
        link("same", "s/same"),
        link("changed", "s/changed"),
        link("gone", "s/gone"),
        link("kept", "s/kept")
      ],
      view: view({ complete: false, listed: [], deleted: ["s/gone"] }),
      events: [source("new", "s/new"), source("same", "s/same"), source("changed", "s/changed", "h2", `"2"`)],
      guard: noGuard
    })
    expect(SyncPlan.count(plan.actions)).toEqual({ create: 1, update: 1, delete: 1, track: 0, skip: 1 })
    const update = plan.actions.find((a) => a._tag === "Update")
    expect(update?._tag === "Update" ? update.sequence : -1).toBe(1)
  })

  it("takes a UID at a new ref for a rename, not a delete and a create", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [link("u", "s/old")],
      view: view({ complete: true, listed: [{ ref: "s/new", version: `"1"` }], deleted: [] }),
      events: [source("u", "s/new")],
      guard: noGuard
    })
    expect(tags(plan)).toEqual(["Track"])
  })

  it("a ref that now holds another UID deletes the old copy and creates the new one", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [link("old", "s/x")],
      view: view({ complete: false, listed: [{ ref: "s/x", version: `"2"` }], deleted: [] }),
      events: [source("new", "s/x", "h2", `"2"`)],
      guard: noGuard
    })
    expect(tags(plan).sort()).toEqual(["Create", "Delete"])
  })

  it("never copies a copy, and copies only inside the window", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [],
      view: view({ complete: false, listed: [], deleted: [] }),
      events: [
        { ...source("c", "s/c"), isCopy: true },
        { ...source("far", "s/far"), inWindow: false }
      ],
      guard: noGuard
    })
    expect(plan.actions).toEqual([
      { _tag: "Skip", ref: "s/c", reason: "is-a-copy" },
      { _tag: "Skip", ref: "s/far", reason: "outside-window" }
    ])
  })

  it("halts when most events vanish at once, and lets a confirmed run through", () => {
    const links = Array.from({ length: 10 }, (_, i) => link(`u${i}`, `s/${i}`))
    const listing = view({
      complete: true,
      listed: links.slice(0, 4).map((l) => ({ ref: l.sourceRef, version: `"1"` })),
      deleted: []
    })
    const halted = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: listing,
      events: [],
      guard: noGuard
    })
    expect(halted.halted?.deletes).toBe(6)
    expect(halted.actions).toEqual([])
    const confirmed = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: listing,
      events: [],
      guard: { ...noGuard, confirmed: true }
    })
    expect(SyncPlan.count(confirmed.actions).delete).toBe(6)
  })

  it("lets a single deletion through even when it empties a one-event calendar", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [link("only", "s/only")],
      view: view({ complete: true, listed: [], deleted: [] }),
      events: [],
      guard: noGuard
    })
    expect(plan.halted).toBeUndefined()
    expect(tags(plan)).toEqual(["Delete"])
  })
})

describe("planTarget", () => {
  it("puts back an edited copy, tracks a copy whose etag changed without its content, recreates a deleted one", () => {
    const links = [link("edited", "s/edited"), link("touched", "s/touched"), link("deleted", "s/deleted")]
    const plan = SyncPlanner.planTarget({
      relationshipId: "r",
      links,
      view: view({ complete: false, listed: [], deleted: ["t/deleted"] }),
      observed: [
        { ref: "t/edited", version: `"t2"`, hash: "other" },
        { ref: "t/touched", version: `"t2"`, hash: "h1" }
      ],
      originals: new Map([
        ["s/edited", source("edited", "s/edited")],
        ["s/deleted", source("deleted", "s/deleted")]
      ])
    })
    expect(tags(plan).sort()).toEqual(["Create", "Track", "Update"])
    const update = plan.actions.find((a) => a._tag === "Update")
    expect(update?._tag === "Update" ? update.link.targetVersion : "").toBe(`"t2"`)
  })
})

describe("planTarget after a lost answer", () => {
  it("records a copy that already holds the original's content (our update applied, its answer lost) without writing it again", () => {
    const plan = SyncPlanner.planTarget({
      relationshipId: "r",
      links: [{ ...link("lost", "s/lost", "h-old"), sequence: 3 }],
      view: view({ complete: false, listed: [], deleted: [] }),
      observed: [{ ref: "t/lost", version: `"t3"`, hash: "h-new" }],
      originals: new Map([["s/lost", source("lost", "s/lost", "h-new", `"2"`)]])
    })
    expect(plan.actions).toEqual([
      {
        _tag: "Track",
        link: { ...link("lost", "s/lost", "h-new"), sequence: 4 },
        sourceRef: "s/lost",
        sourceVersion: `"2"`,
        targetVersion: `"t3"`
      }
    ])
  })
})

describe("scoped listings", () => {
  const window = { _tag: "Window", start: 0, end: 1 } as const

  it("under a window, an unlisted original is not gone until a fetch confirms it", () => {
    const links = [link("inside", "s/inside"), link("outside", "s/outside"), link("deleted", "s/deleted")]
    const listing = view({
      complete: true,
      listed: [{ ref: "s/inside", version: `"1"` }],
      deleted: [],
      scope: window
    })
    expect(
      SyncPlanner.toConfirm(
        listing,
        links.map((l) => l.sourceRef)
      )
    ).toEqual(["s/outside", "s/deleted"])
    const unconfirmed = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: listing,
      events: [],
      guard: noGuard
    })
    expect(tags(unconfirmed)).toEqual([])
    const confirmed = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: { ...listing, confirmedGone: new Set(["s/deleted"]) },
      events: [],
      guard: noGuard
    })
    expect(confirmed.actions.map((a) => (a._tag === "Delete" ? a.link.sourceUid : a._tag))).toEqual([
      "deleted"
    ])
  })

  it("the whole-calendar scope needs no confirmation, and a delta's deletions under a window do", () => {
    const links = [link("a", "s/a")]
    expect(SyncPlanner.toConfirm(view({ complete: true, listed: [], deleted: [] }), ["s/a"])).toEqual([])
    const delta = view({ complete: false, listed: [], deleted: ["s/a"], scope: window })
    expect(SyncPlanner.toConfirm(delta, ["s/a", "s/b"])).toEqual(["s/a"])
    expect(
      tags(SyncPlanner.planSource({ relationshipId: "r", links, view: delta, events: [], guard: noGuard }))
    ).toEqual([])
  })

  it("the mass-delete guard counts only confirmed absences under a window", () => {
    const links = Array.from({ length: 10 }, (_, i) => link(`u${i}`, `s/${i}`))
    const listing = view({ complete: true, listed: [], deleted: [], scope: window })
    // A window that lists none of ten events: most lie outside it; nothing is deleted, nothing halts.
    const outside = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: listing,
      events: [],
      guard: noGuard
    })
    expect(outside.halted).toBeUndefined()
    expect(outside.actions).toEqual([])
    // Ten confirmed gone at once is a mass deletion, as it is over the whole calendar.
    const gone = SyncPlanner.planSource({
      relationshipId: "r",
      links,
      view: { ...listing, confirmedGone: new Set(links.map((l) => l.sourceRef)) },
      events: [],
      guard: noGuard
    })
    expect(gone.halted?.deletes).toBe(10)
  })

  it("a poll of a window-scoped target puts back only copies confirmed gone", () => {
    const links = [link("outside", "s/outside"), link("deleted", "s/deleted")]
    const listing = view({
      complete: true,
      listed: [],
      deleted: [],
      scope: window,
      confirmedGone: new Set(["t/deleted"])
    })
    expect(SyncPlanner.originalsToFetch({ links, view: listing, observed: [] })).toEqual(["s/deleted"])
    const plan = SyncPlanner.planTarget({
      relationshipId: "r",
      links,
      view: listing,
      observed: [],
      originals: new Map([
        ["s/outside", source("outside", "s/outside")],
        ["s/deleted", source("deleted", "s/deleted")]
      ])
    })
    expect(plan.actions.map((a) => (a._tag === "Create" ? [a.sourceUid, a.key] : a._tag))).toEqual([
      ["deleted", SyncPlanner.copyKey("r", "deleted")]
    ])
  })

  it("plans no write to a read-only target", () => {
    const plan = SyncPlanner.planSource({
      relationshipId: "r",
      links: [link("gone", "s/gone")],
      view: view({ complete: true, listed: [], deleted: [] }),
      events: [source("new", "s/new")],
      guard: noGuard,
      targetReadOnly: true
    })
    expect(plan.actions).toEqual([{ _tag: "Skip", ref: "s/new", reason: "read-only-target" }])
  })
})

describe("looksComplete", () => {
  const held = Array.from({ length: 10 }, (_, i) => ({ ref: `/c/${i}.ics`, version: `"${i}"` }))
  const delta = (
    changed: ReadonlyArray<{ ref: string; version: string }>,
    deleted: ReadonlyArray<string> = []
  ) => ({ _tag: "Delta" as const, changed, deleted, cursor: "c", scope: whole })

  it("takes a delta listing half or more of what we hold, unchanged, and deleting nothing, for a full listing", () => {
    expect(SyncPlanner.looksComplete(delta(held.slice(0, 9)), held)).toBe(true)
    expect(SyncPlanner.looksComplete(delta(held.slice(0, 5)), held)).toBe(true)
  })

  it("leaves real deltas alone: a few changes, new versions, or any deletion", () => {
    // a change or two among many: the common poll, which must not cost a full listing
    expect(SyncPlanner.looksComplete(delta(held.slice(0, 2)), held)).toBe(false)
    expect(
      SyncPlanner.looksComplete(delta(held.map((h) => ({ ...h, version: `${h.version}x` }))), held)
    ).toBe(false)
    expect(SyncPlanner.looksComplete(delta(held.slice(0, 9), ["/c/9.ics"]), held)).toBe(false)
    expect(SyncPlanner.looksComplete(delta([]), [])).toBe(false)
  })
})

/**
 * One poll of one calendar, end to end: find what changed (cheaply), fetch only what we do not
 * already know, plan every relationship the calendar takes part in, write the plans, and move the
 * cursor only once every write it covers is recorded. The calendar actor runs this on a cadence.
 */
import { Effect, Metric, Option } from "effect"
import type { CalendarProvider, Changes, Fetched } from "./CalendarProvider.js"
import { ProviderRegistry } from "./CalendarProvider.js"
import * as ContentHash from "./ContentHash.js"
import * as CopyMapping from "./CopyMapping.js"
import type { EventResource } from "./EventModel.js"
import * as Policy from "./Policy.js"
import { type PollError, Transient } from "./ProviderError.js"
import * as SyncMetrics from "./SyncMetrics.js"
import type { Action, Link, Plan } from "./SyncPlan.js"
import * as SyncPlan from "./SyncPlan.js"
import * as SyncPlanner from "./SyncPlanner.js"
import { type CalendarRecord, type Relationship, type StoreError, SyncStore } from "./SyncStore.js"

export interface CycleOptions {
  /** Plan only; write nothing, move no cursor. */
  readonly dryRun: boolean
  /** Compare a complete listing with the links even if the change feed says nothing changed. */
  readonly reconcile: boolean
  /** A person confirmed that a mass deletion is intended. */
  readonly confirmDeletes: boolean
  readonly writeConcurrency: number
  readonly now: Date
}

export const defaultOptions = (now: Date): CycleOptions => ({
  dryRun: false,
  reconcile: false,
  confirmDeletes: false,
  writeConcurrency: 4,
  now
})

export interface CycleReport {
  readonly calendarId: string
  readonly outcome: "unchanged" | "synced" | "incomplete"
  /** The cursor was rejected or missing, and a complete listing was merged against the links. */
  readonly fullResync: boolean
  readonly created: number
  readonly updated: number
  readonly deleted: number
  readonly unchanged: number
  readonly conflicts: number
  readonly quarantined: number
  /** Items listed but not there when fetched: retried next poll. */
  readonly missing: number
  readonly halted: ReadonlyArray<string>
  readonly plans: ReadonlyArray<Plan>
}

/** The report of a poll that found nothing to do. */
export const unchangedReport = (calendarId: string): CycleReport => ({
  calendarId,
  outcome: "unchanged",
  fullResync: false,
  created: 0,
  updated: 0,
  deleted: 0,
  unchanged: 0,
  conflicts: 0,
  quarantined: 0,
  missing: 0,
  halted: [],
  plans: []
})

interface Tally {
  created: number
  updated: number
  deleted: number
  conflicts: number
  /** Originals whose copy the target refused; quarantined until they change. */
  refused: number
  /** Writes that lost a race twice: the cursor stays so the next poll tries again. */
  retry: number
}

type Found = Extract<Fetched, { _tag: "Found" }>

const viewOf = (changes: Exclude<Changes, { _tag: "Unchanged" }>): SyncPlanner.CalendarView =>
  changes._tag === "Snapshot"
    ? { complete: true, listed: changes.items, deleted: [] }
    : { complete: false, listed: changes.changed, deleted: changes.deleted }

/** Runs one poll of `calendarId`. Fails only with errors that end a poll (the actor's to handle). */
export const run = (
  calendarId: string,
  options: CycleOptions
): Effect.Effect<CycleReport, PollError | StoreError, SyncStore | ProviderRegistry> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const registry = yield* ProviderRegistry
    const calendar = yield* store.calendar(calendarId).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.dieMessage(`calendar ${calendarId} is not in the store`),
          onSome: Effect.succeed<CalendarRecord>
        })
      )
    )
    const provider = yield* registry.open(calendar)
    const relationships = yield* store.relationshipsOf(calendarId)
    const asSource = relationships.asSource.filter((r) => !r.paused)
    const asTarget = relationships.asTarget.filter((r) => !r.paused)

    // 1. What changed: the feed from our cursor, or a complete listing when we have none, when
    //    the server rejected the cursor (a merge, never delete-and-recreate), or on reconcile.
    let fullResync = false
    const changes: Changes = yield* Option.isNone(calendar.cursor) || options.reconcile
      ? provider.snapshot
      : provider.changes(calendar.cursor).pipe(
          Effect.catchTag("TokenInvalid", (e) =>
            Effect.logWarning("sync token rejected; resyncing by merge", e.detail).pipe(
              Effect.zipRight(Metric.increment(SyncMetrics.error("TokenInvalid"))),
              Effect.zipRight(
                Effect.sync(() => {
                  fullResync = true
                })
              ),
              Effect.zipRight(provider.snapshot)
            )
          )
        )
    if (changes._tag === "Unchanged") {
      if (!options.dryRun) {
        yield* store.recordPoll(calendarId, {
          at: options.now.getTime(),
          error: Option.none(),
          reconciled: false
        })
      }
      return { ...unchangedReport(calendarId), fullResync }
    }
    const view = viewOf(changes)

    // 2. Fetch only items whose version we do not already know as an original, a copy, or a
    //    quarantined bad item.
    const sourceLinks = new Map<string, ReadonlyArray<Link>>()
    for (const r of asSource) sourceLinks.set(r.id, yield* store.links(r.id))
    const targetLinks = new Map<string, ReadonlyArray<Link>>()
    for (const r of asTarget) targetLinks.set(r.id, yield* store.links(r.id))
    const quarantined = yield* store.quarantined(calendarId)
    const known = new Map<string, Set<string>>()
    const know = (href: string, etag: string) => {
      const set = known.get(href) ?? new Set<string>()
      set.add(etag)
      known.set(href, set)
    }
    for (const links of sourceLinks.values()) for (const l of links) know(l.sourceHref, l.sourceEtag)
    for (const links of targetLinks.values()) for (const l of links) know(l.targetHref, l.targetEtag)
    for (const q of quarantined) know(q.href, q.etag)
    const toFetch = view.listed.filter((i) => !(known.get(i.href)?.has(i.etag) ?? false)).map((i) => i.href)
    const fetched = toFetch.length === 0 ? [] : yield* provider.fetch(toFetch)
    const found = fetched.filter((f): f is Found => f._tag === "Found")
    const bad = fetched.filter((f) => f._tag === "Bad")
    const missing = fetched.filter((f) => f._tag === "Missing").length

    if (!options.dryRun) {
      for (const b of bad) {
        yield* Effect.logWarning("quarantined a malformed item", b.href, b.reason)
        yield* Metric.increment(SyncMetrics.error("BadItem"))
        yield* store.quarantine(calendarId, { href: b.href, etag: b.etag, reason: b.reason })
      }
      const wasBad = new Set(quarantined.map((q) => q.href))
      for (const f of found) if (wasBad.has(f.href)) yield* store.release(calendarId, f.href)
    }

    // 3. Plan: as the source of its relationships, then as their target.
    const plans: Array<{
      readonly plan: Plan
      readonly target: CalendarProvider
      readonly relationship: Relationship
    }> = []
    for (const r of asSource) {
      const target = yield* openCalendar(r.targetCalendarId)
      const events = found.map((f) => CopyMapping.sourceEvent(r, f, options.now))
      const plan = SyncPlanner.planSource({
        relationshipId: r.id,
        links: sourceLinks.get(r.id) ?? [],
        view,
        events,
        guard: { ...SyncPlanner.defaultGuard, confirmed: options.confirmDeletes }
      })
      plans.push({ plan, target, relationship: r })
    }
    for (const r of asTarget) {
      const links = targetLinks.get(r.id) ?? []
      const byTarget = new Map(links.map((l) => [l.targetHref, l]))
      const observed = found
        .filter((f) => Option.exists(f.resource.origin, (o) => o.relationship === r.id))
        .map((f) => ({ href: f.href, etag: f.etag, hash: ContentHash.of(f.resource) }))
      const listed = new Set(view.listed.map((i) => i.href))
      const deleted = new Set(view.deleted)
      const needOriginal = [
        ...links.filter((l) => (view.complete ? !listed.has(l.targetHref) : deleted.has(l.targetHref))),
        ...observed.flatMap((o) => {
          const l = byTarget.get(o.href)
          return l !== undefined && o.hash !== l.contentHash ? [l] : []
        })
      ]
      const originals = new Map<string, SyncPlanner.SourceEvent>()
      if (needOriginal.length > 0) {
        const source = yield* openCalendar(r.sourceCalendarId)
        const got = yield* source.fetch(needOriginal.map((l) => l.sourceHref))
        for (const g of got) {
          if (g._tag === "Found") originals.set(g.href, CopyMapping.sourceEvent(r, g, options.now))
        }
      }
      const plan = SyncPlanner.planTarget({ relationshipId: r.id, links, view, observed, originals })
      plans.push({ plan, target: provider, relationship: r })
    }

    const halted = plans.flatMap((p) => (p.plan.halted === undefined ? [] : [p.plan.halted.reason]))
    const unchanged = plans.reduce(
      (n, p) => n + p.plan.actions.filter((a) => a._tag === "Skip" && a.reason === "unchanged").length,
      0
    )
    const base = {
      calendarId,
      fullResync,
      unchanged,
      quarantined: bad.length,
      missing,
      halted,
      plans: plans.map((p) => p.plan)
    }
    if (options.dryRun) {
      const counts = SyncPlan.count(plans.flatMap((p) => p.plan.actions))
      return {
        ...base,
        outcome: "synced",
        created: counts.create,
        updated: counts.update,
        deleted: counts.delete,
        conflicts: 0
      } satisfies CycleReport
    }

    // 4. Write, recording each write as it lands.
    const tally: Tally = { created: 0, updated: 0, deleted: 0, conflicts: 0, refused: 0, retry: 0 }
    for (const { plan, target, relationship } of plans) {
      yield* Effect.forEach(plan.actions, (action) => execute(relationship, target, action, tally), {
        concurrency: options.writeConcurrency,
        discard: true
      })
    }

    // 5. Move the cursor only when nothing it covers is left undone: a halted plan, an item the
    //    server listed but did not return, or a write that lost its race twice must be seen again
    //    from the same cursor. (Refused copies are not retried: their originals are quarantined.)
    const complete = halted.length === 0 && missing === 0 && tally.retry === 0
    if (complete) yield* store.saveCursor(calendarId, Option.some(changes.cursor))
    yield* store.setHalted(calendarId, halted.length === 0 ? Option.none() : Option.some(halted.join("; ")))
    yield* store.recordPoll(calendarId, {
      at: options.now.getTime(),
      error: Option.none(),
      reconciled: changes._tag === "Snapshot"
    })
    const report = {
      ...base,
      created: tally.created,
      updated: tally.updated,
      deleted: tally.deleted,
      conflicts: tally.conflicts,
      quarantined: base.quarantined + tally.refused,
      outcome: complete ? "synced" : "incomplete"
    } satisfies CycleReport
    const finishedAt = yield* Effect.clockWith((c) => c.currentTimeMillis)
    yield* store.recordRun({
      calendarId,
      startedAt: options.now.getTime(),
      finishedAt,
      outcome: report.outcome,
      summary: {
        fullResync,
        created: report.created,
        updated: report.updated,
        deleted: report.deleted,
        unchanged,
        conflicts: report.conflicts,
        quarantined: report.quarantined,
        missing,
        halted
      }
    })
    return report
  })

const openCalendar = (calendarId: string) =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const registry = yield* ProviderRegistry
    const record = yield* store.calendar(calendarId)
    if (Option.isNone(record)) return yield* Effect.dieMessage(`calendar ${calendarId} is not in the store`)
    return yield* registry.open(record.value)
  })

const withSequence = (copy: EventResource, sequence: number) => Policy.withSequence(copy, sequence)

/**
 * One action against the target. A 412 means someone wrote the copy since we did: refetch, and
 * retry once with the version now there; a second loss is a recorded conflict. Errors that end a
 * poll (network, auth, rate limits) propagate: what was written so far is already recorded.
 */
const execute = (
  relationship: Relationship,
  target: CalendarProvider,
  action: Action,
  tally: Tally
): Effect.Effect<void, PollError | StoreError, SyncStore> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const record = (sourceUid: string, targetHref: string, detail: string) =>
      Effect.logWarning("conflict", relationship.id, targetHref, detail).pipe(
        Effect.zipRight(Metric.increment(SyncMetrics.error("Conflict"))),
        Effect.zipRight(
          store.recordConflict({ relationshipId: relationship.id, sourceUid, targetHref, detail })
        )
      )
    /** Lost a race twice: recorded, and tried again next poll from the same cursor. */
    const conflict = (sourceUid: string, targetHref: string, detail: string) =>
      record(sourceUid, targetHref, detail).pipe(
        Effect.zipRight(
          Effect.sync(() => {
            tally.conflicts++
            tally.retry++
          })
        )
      )
    /**
     * The target will not take this copy (invalid for it, a UID it holds elsewhere, a name taken
     * by something not ours). Retrying cannot help until the original changes, so the original is
     * quarantined (by its etag) and the rest of the calendar goes on.
     */
    const refuse = (
      original: { readonly uid: string; readonly href: string; readonly etag: string },
      targetHref: string,
      detail: string
    ) =>
      record(original.uid, targetHref, detail).pipe(
        Effect.zipRight(
          store.quarantine(relationship.sourceCalendarId, {
            href: original.href,
            etag: original.etag,
            reason: `the target refused its copy: ${detail}`
          })
        ),
        Effect.zipRight(
          Effect.sync(() => {
            tally.conflicts++
            tally.refused++
          })
        )
      )
    const targetGone = (href: string) =>
      Effect.fail(
        new Transient({
          calendar: target.calendarUrl,
          detail: `the target calendar is not there (writing ${href})`
        })
      )
    const currentVersion = (href: string) =>
      target.fetch([href]).pipe(
        Effect.map((got) => {
          const g = got[0]
          return g === undefined || g._tag === "Missing" ? Option.none() : Option.some(g)
        })
      )

    switch (action._tag) {
      case "Skip":
        return
      case "Track":
        return yield* store.saveLink({
          ...action.link,
          sourceHref: action.sourceHref,
          sourceEtag: action.sourceEtag,
          targetEtag: action.targetEtag
        })
      case "Create": {
        const body = withSequence(action.copy, 0)
        const createdFrom = { uid: action.sourceUid, href: action.sourceHref, etag: action.sourceEtag }
        const created = yield* target.create(action.name, body).pipe(
          Effect.map(Option.some),
          Effect.catchTag("EtagMismatch", (e) =>
            // The name is taken: most often by our own earlier create that crashed before it was
            // recorded. Adopt it when it is our copy of the same original; otherwise a conflict.
            Effect.gen(function* () {
              const there = yield* currentVersion(e.href)
              if (
                Option.isSome(there) &&
                there.value._tag === "Found" &&
                Option.exists(
                  there.value.resource.origin,
                  (o) => o.relationship === relationship.id && o.sourceUid === action.sourceUid
                )
              ) {
                const v = there.value
                if (ContentHash.of(v.resource) === action.hash)
                  return Option.some({ href: v.href, etag: v.etag })
                return yield* target.update(v.href, v.etag, body).pipe(
                  Effect.map(Option.some),
                  Effect.catchTag("EtagMismatch", () =>
                    conflict(action.sourceUid, v.href, "the copy changed twice while we wrote it").pipe(
                      Effect.as(Option.none())
                    )
                  )
                )
              }
              yield* refuse(createdFrom, e.href, "another item, not our copy, already has the copy's name")
              return Option.none()
            })
          ),
          Effect.catchTags({
            UidConflict: (e) => refuse(createdFrom, e.href, e.detail).pipe(Effect.as(Option.none())),
            Rejected: (e) => refuse(createdFrom, e.href, e.detail).pipe(Effect.as(Option.none())),
            NotFound: (e) => targetGone(e.href)
          })
        )
        if (Option.isNone(created)) return
        yield* store.saveLink({
          relationshipId: relationship.id,
          sourceUid: action.sourceUid,
          sourceHref: action.sourceHref,
          sourceEtag: action.sourceEtag,
          targetHref: created.value.href,
          targetEtag: created.value.etag,
          contentHash: action.hash,
          sequence: 0
        })
        tally.created++
        yield* Metric.increment(SyncMetrics.write("create"))
        return
      }
      case "Update": {
        const body = withSequence(action.copy, action.sequence)
        const updatedFrom = { uid: action.link.sourceUid, href: action.sourceHref, etag: action.sourceEtag }
        const recreate = target.create(action.link.targetHref.split("/").pop() ?? "", body)
        const written = yield* target.update(action.link.targetHref, action.link.targetEtag, body).pipe(
          Effect.map(Option.some),
          Effect.catchTag("EtagMismatch", () =>
            Effect.gen(function* () {
              const there = yield* currentVersion(action.link.targetHref)
              if (Option.isNone(there)) return yield* recreate.pipe(Effect.map(Option.some))
              return yield* target
                .update(action.link.targetHref, there.value.etag, body)
                .pipe(Effect.map(Option.some))
            }).pipe(
              Effect.catchTag("EtagMismatch", () =>
                conflict(
                  action.link.sourceUid,
                  action.link.targetHref,
                  "the copy changed again while we retried"
                ).pipe(Effect.as(Option.none()))
              )
            )
          ),
          Effect.catchTag("NotFound", () => recreate.pipe(Effect.map(Option.some))),
          Effect.catchTags({
            UidConflict: (e) =>
              conflict(action.link.sourceUid, e.href, e.detail).pipe(Effect.as(Option.none())),
            Rejected: (e) => conflict(action.link.sourceUid, e.href, e.detail).pipe(Effect.as(Option.none())),
            NotFound: (e) => targetGone(e.href),
            EtagMismatch: (e) =>
              refuse(updatedFrom, e.href, "another item, not our copy, took the copy's name").pipe(
                Effect.as(Option.none())
              )
          })
        )
        if (Option.isNone(written)) return
        yield* store.saveLink({
          ...action.link,
          sourceHref: action.sourceHref,
          sourceEtag: action.sourceEtag,
          targetHref: written.value.href,
          targetEtag: written.value.etag,
          contentHash: action.hash,
          sequence: action.sequence
        })
        tally.updated++
        yield* Metric.increment(SyncMetrics.write("update"))
        return
      }
      case "Delete": {
        const { link } = action
        const removed = yield* target.remove(link.targetHref, link.targetEtag).pipe(
          Effect.as(true),
          Effect.catchTag("NotFound", () => Effect.succeed(true)),
          Effect.catchTag("EtagMismatch", () =>
            Effect.gen(function* () {
              const there = yield* currentVersion(link.targetHref)
              if (Option.isNone(there)) return true
              yield* target.remove(link.targetHref, there.value.etag)
              return true
            }).pipe(
              Effect.catchTag("NotFound", () => Effect.succeed(true)),
              Effect.catchTag("EtagMismatch", () =>
                conflict(link.sourceUid, link.targetHref, "the copy changed again while we deleted it").pipe(
                  Effect.as(false)
                )
              )
            )
          ),
          Effect.catchTags({
            UidConflict: (e) => conflict(link.sourceUid, e.href, e.detail).pipe(Effect.as(false)),
            Rejected: (e) => conflict(link.sourceUid, e.href, e.detail).pipe(Effect.as(false))
          })
        )
        if (!removed) return
        yield* store.deleteLink(relationship.id, link.sourceUid)
        tally.deleted++
        yield* Metric.increment(SyncMetrics.write("delete"))
        return
      }
    }
  })

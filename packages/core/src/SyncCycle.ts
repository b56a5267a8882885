/**
 * One poll of one calendar, end to end, in named phases: observe (the change feed, cheaply) →
 * fetch unknown (only versions we do not know, and absences a window listing cannot prove) →
 * plan (every relationship the calendar takes part in; pure, in SyncPlanner) → write (each action
 * with its one retry) → commit (the cursor moves only once every write it covers is recorded).
 * Each phase returns what it did, and the report is put together from those outcomes. The
 * calendar actor runs this on a cadence.
 */
import { Cause, Effect, Either, Exit, Metric, Option } from "effect"
import type { CalendarProvider, Changes, Fetched, ItemVersion } from "./CalendarProvider.js"
import { ProviderRegistry } from "./CalendarProvider.js"
import * as ConditionalWrite from "./ConditionalWrite.js"
import * as ContentHash from "./ContentHash.js"
import * as CopyMapping from "./CopyMapping.js"
import type { EventResource } from "./EventModel.js"
import * as WriteLimit from "./internal/WriteLimit.js"
import * as Policy from "./Policy.js"
import { type PollError, Transient } from "./ProviderError.js"
import type { Relationship } from "./Relationship.js"
import * as SyncMetrics from "./SyncMetrics.js"
import type { Action, Link, Plan } from "./SyncPlan.js"
import * as SyncPlan from "./SyncPlan.js"
import * as SyncPlanner from "./SyncPlanner.js"
import { fetchBatch, SyncProgress } from "./SyncProgress.js"
import { type CalendarRecord, type StoreError, SyncStore } from "./SyncStore.js"

export interface CycleOptions {
  /** Plan only; write nothing, move no cursor. */
  readonly dryRun: boolean
  /** Compare a complete listing with the links even if the change feed says nothing changed. */
  readonly reconcile: boolean
  /** A person confirmed that a mass deletion is intended. */
  readonly confirmDeletes: boolean
  /** Writes in flight at most; within it, how many the target server gets is learnt (WriteLimit). */
  readonly writeConcurrency: number
  readonly now: Date
  /** When the caller polls next if this poll works: recorded with the poll itself (one write). */
  readonly nextPollAt?: number
}

export const defaultOptions = (now: Date): CycleOptions => ({
  dryRun: false,
  reconcile: false,
  confirmDeletes: false,
  writeConcurrency: WriteLimit.defaultSettings.max,
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

type Found = Extract<Fetched, { _tag: "Found" }>
type Listing = Exclude<Changes, { _tag: "Unchanged" }>

/** What one poll works on: the calendar, its provider, and the relationships it takes part in with their links. */
interface Subject {
  readonly calendar: CalendarRecord
  readonly provider: CalendarProvider
  readonly asSource: ReadonlyArray<{
    readonly relationship: Relationship
    readonly links: ReadonlyArray<Link>
  }>
  readonly asTarget: ReadonlyArray<{
    readonly relationship: Relationship
    readonly links: ReadonlyArray<Link>
  }>
}

const openRecord = (calendarId: string) =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const registry = yield* ProviderRegistry
    const record = yield* store.calendar(calendarId)
    if (Option.isNone(record)) return yield* Effect.dieMessage(`calendar ${calendarId} is not in the store`)
    return { record: record.value, provider: yield* registry.open(record.value) }
  })

/**
 * The relationships of an opened calendar with their links. Read after `observe`: a poll that finds
 * nothing changed (most polls) needs neither, and the links are a row per event.
 */
const subjectOf = (
  calendarId: string,
  { record, provider }: Effect.Effect.Success<ReturnType<typeof openRecord>>
) =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const relationships = yield* store.relationshipsOf(calendarId)
    const withLinks = (rs: ReadonlyArray<Relationship>) =>
      Effect.forEach(
        rs.filter((r) => !r.paused),
        (relationship) => Effect.map(store.links(relationship.id), (links) => ({ relationship, links }))
      )
    return {
      calendar: record,
      provider,
      asSource: yield* withLinks(relationships.asSource),
      asTarget: yield* withLinks(relationships.asTarget)
    } satisfies Subject
  })

// ---- 1. observe ------------------------------------------------------------------------------

type Observed =
  | { readonly _tag: "Unchanged"; readonly fullResync: boolean }
  | { readonly _tag: "Listed"; readonly listing: Listing; readonly fullResync: boolean }

/**
 * The feed from our cursor, or a complete listing when we have none, when the server rejected the
 * cursor (a merge against the links, never delete-and-recreate), or on reconcile.
 */
const observe = (
  { provider, calendar }: Pick<Subject, "provider" | "calendar">,
  options: CycleOptions
): Effect.Effect<Observed, PollError> => {
  const listed = (listing: Changes, fullResync: boolean): Observed =>
    listing._tag === "Unchanged" ? { _tag: "Unchanged", fullResync } : { _tag: "Listed", listing, fullResync }
  if (Option.isNone(calendar.cursor) || options.reconcile)
    return Effect.map(provider.snapshot, (l) => listed(l, false))
  return provider.changes(calendar.cursor).pipe(
    Effect.map((l) => listed(l, false)),
    Effect.catchTag("TokenInvalid", (e) =>
      Effect.logWarning("sync token rejected; resyncing by merge", e.detail).pipe(
        Effect.zipRight(Metric.increment(SyncMetrics.error("TokenInvalid"))),
        Effect.zipRight(provider.snapshot),
        Effect.map((l) => listed(l, true))
      )
    )
  )
}

/** What the links say we hold of this calendar, on either side of its relationships. */
const heldIn = (subject: Subject): ReadonlyArray<ItemVersion> => [
  ...subject.asSource.flatMap((s) => s.links.map((l) => ({ ref: l.sourceRef, version: l.sourceVersion }))),
  ...subject.asTarget.flatMap((s) => s.links.map((l) => ({ ref: l.targetRef, version: l.targetVersion })))
]

/**
 * A delta that reads like a complete listing (`SyncPlanner.looksComplete`: a server that answered
 * a stale token with everything) is replaced by a complete listing, the only kind that can say
 * that what it leaves out is gone.
 */
const completeIfDisguised = (
  subject: Subject,
  held: ReadonlyArray<ItemVersion>,
  listing: Listing
): Effect.Effect<Listing, PollError> =>
  listing._tag === "Delta" && SyncPlanner.looksComplete(listing, held)
    ? Effect.logInfo(
        "the change feed listed what we hold, unchanged, and no deletion: taking a complete listing"
      ).pipe(
        Effect.annotateLogs({ listed: listing.changed.length }),
        Effect.zipRight(subject.provider.snapshot)
      )
    : Effect.succeed(listing)

// ---- 2. fetch unknown ------------------------------------------------------------------------

interface Fetch {
  readonly view: SyncPlanner.CalendarView
  readonly found: ReadonlyArray<Found>
  readonly bad: number
  /** Listed items not there when fetched: retried next poll. */
  readonly missing: number
}

/**
 * Fetches what the planner asks for: listed items whose version we do not know (as an original,
 * a copy, or a quarantined bad item), and under a window scope the absent items our links point
 * at, whose absence only a fetch can prove. Bad items are quarantined, good ones released.
 */
const fetchUnknown = (
  subject: Subject,
  /** What the links hold of this calendar (`heldIn`), read once per poll. */
  held: ReadonlyArray<ItemVersion>,
  listing: Listing,
  dryRun: boolean
): Effect.Effect<Fetch, PollError | StoreError, SyncStore> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const { calendar, provider } = subject
    const first = SyncPlanner.viewOf(listing)
    const quarantined = yield* store.quarantined(calendar.id)
    const unknown = SyncPlanner.toFetch(first, [...held, ...quarantined])
    const confirm = SyncPlanner.toConfirm(
      first,
      held.map((k) => k.ref)
    ).filter((ref) => !unknown.includes(ref))
    const refs = [...unknown, ...confirm]
    const progress = yield* SyncProgress
    // in batches, so that a long first sync reports between them
    const fetched: Array<Fetched> = []
    for (let i = 0; i < refs.length; i += fetchBatch) {
      fetched.push(...(yield* provider.fetch(refs.slice(i, i + fetchBatch))))
      yield* progress.report({
        calendarId: calendar.id,
        phase: "fetch",
        done: fetched.length,
        total: refs.length
      })
    }
    const probes = new Set(confirm)
    const found = fetched.filter((f): f is Found => f._tag === "Found")
    const bad = fetched.filter((f) => f._tag === "Bad")
    const confirmedGone = new Set(
      fetched.flatMap((f) => (f._tag === "Missing" && probes.has(f.ref) ? [f.ref] : []))
    )
    const missing = fetched.filter((f) => f._tag === "Missing" && !probes.has(f.ref)).length
    if (!dryRun) {
      for (const b of bad) {
        yield* Effect.logWarning("quarantined a malformed item", b.ref, b.reason)
        yield* Metric.increment(SyncMetrics.error("BadItem"))
        yield* store.quarantine(calendar.id, { ref: b.ref, version: b.version, reason: b.reason })
      }
      const wasBad = new Set(quarantined.map((q) => q.ref))
      for (const f of found) if (wasBad.has(f.ref)) yield* store.release(calendar.id, f.ref)
    }
    return { view: { ...first, confirmedGone }, found, bad: bad.length, missing }
  })

// ---- 3. plan ---------------------------------------------------------------------------------

interface Planned {
  readonly plan: Plan
  readonly target: CalendarProvider
  readonly relationship: Relationship
}

/** Plans as the source of each relationship, then as its target (fetching the originals the planner asks for). */
const plan = (
  subject: Subject,
  fetched: Fetch,
  options: CycleOptions
): Effect.Effect<ReadonlyArray<Planned>, PollError | StoreError, SyncStore | ProviderRegistry> =>
  Effect.gen(function* () {
    const { provider } = subject
    const { view, found } = fetched
    const plans: Array<Planned> = []
    for (const { relationship: r, links } of subject.asSource) {
      const { provider: target } = yield* openRecord(r.targetCalendarId)
      const events = found.map((f) => CopyMapping.sourceEvent(r, f, options.now, target.normalize))
      const p = SyncPlanner.planSource({
        relationshipId: r.id,
        links,
        view,
        events,
        guard: { ...SyncPlanner.defaultGuard, confirmed: options.confirmDeletes },
        targetReadOnly: target.capabilities.readOnly
      })
      plans.push({ plan: p, target, relationship: r })
    }
    for (const { relationship: r, links } of subject.asTarget) {
      // A read-only calendar is never written, so there is nothing to put back on it.
      if (provider.capabilities.readOnly) continue
      const observed = found
        .filter((f) => Option.exists(f.resource.origin, (o) => o.relationship === r.id))
        .map((f) => ({
          ref: f.ref,
          version: f.version,
          hash: ContentHash.of(provider.normalize(f.resource))
        }))
      const wanted = SyncPlanner.originalsToFetch({ links, view, observed })
      const originals = new Map<string, SyncPlanner.SourceEvent>()
      if (wanted.length > 0) {
        const { provider: source } = yield* openRecord(r.sourceCalendarId)
        for (const g of yield* source.fetch(wanted)) {
          if (g._tag === "Found")
            originals.set(g.ref, CopyMapping.sourceEvent(r, g, options.now, provider.normalize))
        }
      }
      plans.push({
        plan: SyncPlanner.planTarget({ relationshipId: r.id, links, view, observed, originals }),
        target: provider,
        relationship: r
      })
    }
    return plans
  })

// ---- 4. write --------------------------------------------------------------------------------

/** What one action came to. */
type Written =
  | "created"
  | "updated"
  | "deleted"
  /** Bookkeeping only (Track), or nothing to do (Skip). */
  | "recorded"
  /** Lost a race twice (or refused for a reason a retry may fix): recorded, tried again next poll from the same cursor. */
  | "conflict"
  /** The target will not take this copy: the original is quarantined until it changes. */
  | "refused"

interface WriteCounts {
  readonly created: number
  readonly updated: number
  readonly deleted: number
  readonly conflicts: number
  readonly refused: number
  readonly retry: number
}

const countWritten = (outcomes: ReadonlyArray<Written>): WriteCounts => {
  const n = (w: Written) => outcomes.filter((o) => o === w).length
  return {
    created: n("created"),
    updated: n("updated"),
    deleted: n("deleted"),
    conflicts: n("conflict") + n("refused"),
    refused: n("refused"),
    retry: n("conflict")
  }
}

/** The target server asking us to slow down, or failing under us: fewer writes at once. */
const pushedBack = (exit: Exit.Exit<Written, PollError | StoreError>): boolean =>
  Exit.isFailure(exit) &&
  Option.exists(Cause.failureOption(exit.cause), (e) => e._tag === "RateLimited" || e._tag === "Transient")

/** An action that writes to the target (Track and Skip only touch the link table, or nothing). */
const isWrite = (action: Action): boolean =>
  action._tag === "Create" || action._tag === "Update" || action._tag === "Delete"

const write = (
  calendarId: string,
  plans: ReadonlyArray<Planned>,
  options: CycleOptions
): Effect.Effect<WriteCounts, PollError | StoreError, SyncStore> =>
  Effect.gen(function* () {
    const progress = yield* SyncProgress
    const total = plans.reduce((n, p) => n + p.plan.actions.filter(isWrite).length, 0)
    let done = 0
    const landed = { created: "create", updated: "update", deleted: "delete" } as const
    const reported = (action: Action, outcome: Written) =>
      (outcome === "created" || outcome === "updated" || outcome === "deleted"
        ? Metric.increment(SyncMetrics.write(landed[outcome]))
        : Effect.void
      ).pipe(
        Effect.zipRight(
          isWrite(action)
            ? Effect.suspend(() => progress.report({ calendarId, phase: "write", done: ++done, total })).pipe(
                Effect.as(outcome)
              )
            : Effect.succeed(outcome)
        )
      )
    const outcomes = yield* Effect.forEach(
      plans,
      ({ plan, target, relationship }) =>
        Effect.flatMap(WriteLimit.forHost(target.writeHost ?? `calendar ${target.calendarRef}`), (limit) =>
          Effect.forEach(
            plan.actions,
            (action) =>
              (isWrite(action)
                ? limit.run(execute(relationship, target, action), pushedBack)
                : execute(relationship, target, action)
              ).pipe(Effect.flatMap((o) => reported(action, o))),
            { concurrency: options.writeConcurrency }
          )
        ),
      { concurrency: 1 }
    )
    return countWritten(outcomes.flat())
  })

// ---- 5. commit -------------------------------------------------------------------------------

/**
 * Moves the cursor only when nothing it covers is left undone: a halted plan, an item the server
 * listed but did not return, or a write that lost its race twice must be seen again from the same
 * cursor. (Refused copies are not retried: their originals are quarantined.) Then the poll and
 * the run are recorded.
 */
const commit = (
  subject: Subject,
  listing: Listing,
  report: CycleReport,
  options: CycleOptions
): Effect.Effect<void, StoreError, SyncStore> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const calendarId = subject.calendar.id
    if (report.outcome === "synced") yield* store.saveCursor(calendarId, Option.some(listing.cursor))
    yield* store.setHalted(
      calendarId,
      report.halted.length === 0 ? Option.none() : Option.some(report.halted.join("; "))
    )
    yield* store.recordPoll(calendarId, {
      at: options.now.getTime(),
      error: Option.none(),
      reconciled: listing._tag === "Snapshot",
      nextPollAt: Option.fromNullable(options.nextPollAt)
    })
    const finishedAt = yield* Effect.clockWith((c) => c.currentTimeMillis)
    // A listing that changed nothing (a reconcile, a poll after a restart) is not a run worth a
    // row: recordPoll above counted it, and a row per such poll would grow the log by one row
    // per calendar per start for nothing.
    const didSomething =
      report.outcome !== "synced" ||
      report.fullResync ||
      report.created +
        report.updated +
        report.deleted +
        report.conflicts +
        report.quarantined +
        report.missing >
        0 ||
      report.halted.length > 0
    if (didSomething)
      yield* store.recordRun({
        calendarId,
        startedAt: options.now.getTime(),
        finishedAt,
        outcome: report.outcome,
        summary: {
          fullResync: report.fullResync,
          created: report.created,
          updated: report.updated,
          deleted: report.deleted,
          unchanged: report.unchanged,
          conflicts: report.conflicts,
          quarantined: report.quarantined,
          missing: report.missing,
          halted: report.halted
        }
      })
  })

/** Runs one poll of `calendarId`. Fails only with errors that end a poll (the actor's to handle). */
export const run = (
  calendarId: string,
  options: CycleOptions
): Effect.Effect<CycleReport, PollError | StoreError, SyncStore | ProviderRegistry> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    yield* (yield* SyncProgress).report({ calendarId, phase: "list", done: 0, total: 0 })
    const opened = yield* openRecord(calendarId)
    const observed = yield* observe({ calendar: opened.record, provider: opened.provider }, options)
    if (observed._tag === "Unchanged") {
      if (!options.dryRun) {
        yield* store.recordPoll(calendarId, {
          at: options.now.getTime(),
          error: Option.none(),
          reconciled: false,
          nextPollAt: Option.fromNullable(options.nextPollAt)
        })
      }
      return { ...unchangedReport(calendarId), fullResync: observed.fullResync }
    }
    const subject = yield* subjectOf(calendarId, opened)
    const held = heldIn(subject)
    const listing = yield* completeIfDisguised(subject, held, observed.listing)
    const fetched = yield* fetchUnknown(subject, held, listing, options.dryRun)
    const plans = yield* plan(subject, fetched, options)
    const halted = plans.flatMap((p) => (p.plan.halted === undefined ? [] : [p.plan.halted.reason]))
    const planned = {
      calendarId,
      fullResync: observed.fullResync,
      unchanged: plans.reduce(
        (n, p) => n + p.plan.actions.filter((a) => a._tag === "Skip" && a.reason === "unchanged").length,
        0
      ),
      quarantined: fetched.bad,
      missing: fetched.missing,
      halted,
      plans: plans.map((p) => p.plan)
    }
    if (options.dryRun) {
      const counts = SyncPlan.count(plans.flatMap((p) => p.plan.actions))
      return {
        ...planned,
        outcome: "synced",
        created: counts.create,
        updated: counts.update,
        deleted: counts.delete,
        conflicts: 0
      } satisfies CycleReport
    }
    const written = yield* write(calendarId, plans, options)
    const complete = halted.length === 0 && fetched.missing === 0 && written.retry === 0
    const report: CycleReport = {
      ...planned,
      created: written.created,
      updated: written.updated,
      deleted: written.deleted,
      conflicts: written.conflicts,
      quarantined: planned.quarantined + written.refused,
      outcome: complete ? "synced" : "incomplete"
    }
    yield* commit(subject, listing, report, options)
    return report
  })

const withSequence = (copy: EventResource, sequence: number) => Policy.withSequence(copy, sequence)

/**
 * One action against the target. A lost race takes the one retry of ConditionalWrite; a second
 * loss is a recorded conflict. Errors that end a poll (network, auth, rate limits) propagate:
 * what was written so far is already recorded.
 */
const execute = (
  relationship: Relationship,
  target: CalendarProvider,
  action: Action
): Effect.Effect<Written, PollError | StoreError, SyncStore> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    const record = (sourceUid: string, targetRef: string, detail: string) =>
      Effect.logWarning("conflict", relationship.id, targetRef, detail).pipe(
        Effect.zipRight(Metric.increment(SyncMetrics.error("Conflict"))),
        Effect.zipRight(
          store.recordConflict({ relationshipId: relationship.id, sourceUid, targetRef, detail })
        )
      )
    const conflict = (sourceUid: string, targetRef: string, detail: string) =>
      record(sourceUid, targetRef, detail).pipe(Effect.as<Written>("conflict"))
    /**
     * The target will not take this copy (invalid for it, a UID it holds elsewhere, a key taken
     * by something not ours). Retrying cannot help until the original changes, so the original is
     * quarantined (by its version) and the rest of the calendar goes on.
     */
    const refuse = (
      original: { readonly uid: string; readonly ref: string; readonly version: string },
      targetRef: string,
      detail: string
    ) =>
      record(original.uid, targetRef, detail).pipe(
        Effect.zipRight(
          store.quarantine(relationship.sourceCalendarId, {
            ref: original.ref,
            version: original.version,
            reason: `the target refused its copy: ${detail}`
          })
        ),
        Effect.as<Written>("refused")
      )
    const targetGone = (ref: string) =>
      Effect.fail(
        new Transient({
          calendar: target.calendarRef,
          detail: `the target calendar is not there (writing ${ref})`
        })
      )
    /** The item there now, if any (a bad one still has a version to write against). */
    const current = (ref: string) =>
      target.fetch([ref]).pipe(
        Effect.map((got) => {
          const g = got[0]
          return g === undefined || g._tag === "Missing" ? Option.none() : Option.some(g)
        })
      )
    const versionNow = (ref: string) =>
      Effect.map(
        current(ref),
        Option.map((g) => g.version)
      )

    /**
     * Creates the copy under its key. AlreadyExists is most often our own earlier create that
     * crashed before it was recorded: adopted when it is our copy of the same original (brought
     * up to date if it differs), refused otherwise.
     */
    const createCopy = (
      key: string,
      body: EventResource,
      hash: string,
      from: { readonly uid: string; readonly ref: string; readonly version: string }
    ) =>
      target.create(key, body).pipe(
        Effect.map(Either.right),
        Effect.catchTag("AlreadyExists", (e) =>
          Effect.gen(function* () {
            const there = yield* current(e.ref)
            const ours =
              Option.isSome(there) &&
              there.value._tag === "Found" &&
              Option.exists(
                there.value.resource.origin,
                (o) => o.relationship === relationship.id && o.sourceUid === from.uid
              )
            if (!ours || Option.isNone(there)) {
              return Either.left(
                yield* refuse(from, e.ref, "another item, not our copy, already has the copy's key")
              )
            }
            const v = there.value
            if (v._tag === "Found" && ContentHash.of(target.normalize(v.resource)) === hash)
              return Either.right({ ref: v.ref, version: v.version })
            return yield* ConditionalWrite.retryOnce({
              known: v.version,
              attempt: (version) => target.update(v.ref, version, body),
              refetch: versionNow(v.ref),
              onGone: target.create(key, body)
            }).pipe(
              Effect.map(Either.right),
              Effect.catchTag("EtagMismatch", () =>
                conflict(from.uid, v.ref, "the copy changed twice while we wrote it").pipe(
                  Effect.map(Either.left)
                )
              )
            )
          })
        )
      )

    switch (action._tag) {
      case "Skip":
        return "recorded"
      case "Track":
        yield* store.saveLink({
          ...action.link,
          sourceRef: action.sourceRef,
          sourceVersion: action.sourceVersion,
          targetVersion: action.targetVersion
        })
        return "recorded"
      case "Create": {
        const from = { uid: action.sourceUid, ref: action.sourceRef, version: action.sourceVersion }
        const created = yield* createCopy(action.key, withSequence(action.copy, 0), action.hash, from).pipe(
          Effect.catchTags({
            UidConflict: (e) => refuse(from, e.ref, e.detail).pipe(Effect.map(Either.left)),
            Rejected: (e) => refuse(from, e.ref, e.detail).pipe(Effect.map(Either.left)),
            AlreadyExists: (e) =>
              refuse(from, e.ref, "another item, not our copy, already has the copy's key").pipe(
                Effect.map(Either.left)
              ),
            EtagMismatch: (e) =>
              conflict(action.sourceUid, e.ref, "the copy changed twice while we wrote it").pipe(
                Effect.map(Either.left)
              ),
            NotFound: (e) => targetGone(e.ref)
          })
        )
        if (Either.isLeft(created)) return created.left
        yield* store.saveLink({
          relationshipId: relationship.id,
          sourceUid: action.sourceUid,
          key: action.key,
          sourceRef: action.sourceRef,
          sourceVersion: action.sourceVersion,
          targetRef: created.right.ref,
          targetVersion: created.right.version,
          contentHash: action.hash,
          sequence: 0
        })
        return "created"
      }
      case "Update": {
        const { link } = action
        const body = withSequence(action.copy, action.sequence)
        const from = { uid: link.sourceUid, ref: action.sourceRef, version: action.sourceVersion }
        // A copy someone deleted is written again under its key.
        const recreate = createCopy(link.key, body, action.hash, from)
        const written = yield* ConditionalWrite.retryOnce({
          known: link.targetVersion,
          attempt: (version) => target.update(link.targetRef, version, body),
          refetch: versionNow(link.targetRef),
          onGone: recreate
        }).pipe(
          Effect.map((w) => (Either.isEither(w) ? w : Either.right(w))),
          Effect.catchTag("NotFound", () => recreate),
          Effect.catchTags({
            EtagMismatch: () =>
              conflict(link.sourceUid, link.targetRef, "the copy changed again while we retried").pipe(
                Effect.map(Either.left)
              ),
            UidConflict: (e) => conflict(link.sourceUid, e.ref, e.detail).pipe(Effect.map(Either.left)),
            Rejected: (e) => conflict(link.sourceUid, e.ref, e.detail).pipe(Effect.map(Either.left)),
            AlreadyExists: (e) =>
              refuse(from, e.ref, "another item, not our copy, took the copy's key").pipe(
                Effect.map(Either.left)
              ),
            NotFound: (e) => targetGone(e.ref)
          })
        )
        if (Either.isLeft(written)) return written.left
        yield* store.saveLink({
          ...link,
          sourceRef: action.sourceRef,
          sourceVersion: action.sourceVersion,
          targetRef: written.right.ref,
          targetVersion: written.right.version,
          contentHash: action.hash,
          sequence: action.sequence
        })
        return "updated"
      }
      case "Delete": {
        const { link } = action
        const removed = yield* ConditionalWrite.retryOnce({
          known: link.targetVersion,
          attempt: (version) => target.remove(link.targetRef, version),
          refetch: versionNow(link.targetRef),
          onGone: Effect.void
        }).pipe(
          Effect.as(true),
          Effect.catchTag("NotFound", () => Effect.succeed(true)),
          Effect.catchTags({
            EtagMismatch: () =>
              conflict(link.sourceUid, link.targetRef, "the copy changed again while we deleted it").pipe(
                Effect.as(false)
              ),
            UidConflict: (e) => conflict(link.sourceUid, e.ref, e.detail).pipe(Effect.as(false)),
            Rejected: (e) => conflict(link.sourceUid, e.ref, e.detail).pipe(Effect.as(false))
          })
        )
        if (!removed) return "conflict"
        yield* store.deleteLink(relationship.id, link.sourceUid)
        return "deleted"
      }
    }
  })

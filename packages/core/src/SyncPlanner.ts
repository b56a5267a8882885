/**
 * The planner: pure functions from what a poll saw and what the link table remembers to an
 * explicit plan. No I/O here; the executor (SyncCycle) fetches, decodes and writes.
 *
 * A relationship copies the originals of one source calendar into one target calendar. A poll of
 * the source plans creates, updates and deletes (`planSource`); a poll of the target finds copies
 * that people edited or deleted there and puts them back (`planTarget`), because the source is
 * authoritative for its own events, in one-way and two-way mirrors alike.
 */
import { createHash } from "node:crypto"
import type { Changes, ItemVersion, Scope } from "./CalendarProvider.js"
import type { EventResource } from "./EventModel.js"
import type { Action, Link, Plan } from "./SyncPlan.js"

/** An original (or a copy, flagged) fetched from a calendar, already mapped by the relationship's policy. */
export interface SourceEvent {
  readonly ref: string
  readonly version: string
  readonly uid: string
  /** It carries our origin marker: a copy we wrote, never to be copied again (no echoes). */
  readonly isCopy: boolean
  /** It occurs inside the relationship's sync window (always true without a window). */
  readonly inWindow: boolean
  /** The copy as the target will hold it (policy applied, then the target's normalize). */
  readonly copy: EventResource
  readonly hash: string
}

/** What one poll saw of a calendar. */
export interface CalendarView {
  /** A complete listing of the scope (first sync, resync, reconcile): anything not listed is gone from it. */
  readonly complete: boolean
  /** Listed items: every item of the scope for a complete view, the changed ones for a delta. */
  readonly listed: ReadonlyArray<ItemVersion>
  /** Deleted refs (deltas only). */
  readonly deleted: ReadonlyArray<string>
  /** What the listing covers. */
  readonly scope: Scope
  /**
   * Refs the listing leaves out (or reports deleted) under a window scope that a fetch then
   * answered as missing: only these are gone. Under a window, an unlisted item may simply lie
   * outside the window, so absence alone proves nothing (see `toConfirm`).
   */
  readonly confirmedGone: ReadonlySet<string>
}

/** A view of a listing, before any absence was confirmed. */
export const viewOf = (changes: Exclude<Changes, { _tag: "Unchanged" }>): CalendarView =>
  changes._tag === "Snapshot"
    ? { complete: true, listed: changes.items, deleted: [], scope: changes.scope, confirmedGone: new Set() }
    : {
        complete: false,
        listed: changes.changed,
        deleted: changes.deleted,
        scope: changes.scope,
        confirmedGone: new Set()
      }

/** The listing says nothing of `ref` (complete view) or says it was deleted (delta). */
const absent = (
  view: CalendarView,
  listed: ReadonlySet<string>,
  deleted: ReadonlySet<string>,
  ref: string
) => (view.complete ? !listed.has(ref) : deleted.has(ref))

/**
 * The refs a view says are gone: under the whole-calendar scope, every absent one; under a
 * window, only absences a fetch confirmed.
 */
export const goneIn = (view: CalendarView): ((ref: string) => boolean) => {
  const listed = new Set(view.listed.map((i) => i.ref))
  const deleted = new Set(view.deleted)
  return (ref) =>
    absent(view, listed, deleted, ref) && (view.scope._tag === "Whole" || view.confirmedGone.has(ref))
}

/**
 * Which of `refs` (the refs our links remember on this calendar) must be fetched before the plan
 * can call them gone: the absent ones, under a window scope only. A window listing leaves out
 * everything outside the window; a fetch that answers Missing is the proof that an item is gone,
 * exact for any series and any window, and costs requests only for absent links of a window.
 */
export const toConfirm = (view: CalendarView, refs: Iterable<string>): ReadonlyArray<string> => {
  if (view.scope._tag === "Whole") return []
  const listed = new Set(view.listed.map((i) => i.ref))
  const deleted = new Set(view.deleted)
  return [...new Set(refs)].filter((ref) => absent(view, listed, deleted, ref))
}

const versionsByRef = (known: ReadonlyArray<ItemVersion>): ReadonlyMap<string, ReadonlySet<string>> => {
  const versions = new Map<string, Set<string>>()
  for (const k of known) {
    const set = versions.get(k.ref) ?? new Set<string>()
    set.add(k.version)
    versions.set(k.ref, set)
  }
  return versions
}

/**
 * The listed items whose version we do not already know (as an original, a copy, or a
 * quarantined bad item): the only ones a poll fetches.
 */
export const toFetch = (view: CalendarView, known: ReadonlyArray<ItemVersion>): ReadonlyArray<string> => {
  const versions = versionsByRef(known)
  return view.listed.filter((i) => !(versions.get(i.ref)?.has(i.version) ?? false)).map((i) => i.ref)
}

/**
 * Whether a delta reads like a complete listing in disguise: it reports no deletion and lists, at
 * the versions we already hold, at least half of the items we hold. Some servers answer a stale or
 * bogus sync token with 207 and every item instead of an error (docs/caldav-servers.md); what such
 * an answer leaves out is gone, and a delta cannot say so. The same shape is a target's feed right
 * after we wrote much of it: there a complete listing costs one listing and finds nothing more.
 */
export const looksComplete = (
  delta: Extract<Changes, { _tag: "Delta" }>,
  known: ReadonlyArray<ItemVersion>
): boolean => {
  if (delta.deleted.length > 0) return false
  const versions = versionsByRef(known)
  const held = delta.changed.filter((i) => versions.get(i.ref)?.has(i.version) ?? false).length
  return held > 0 && held * 2 >= versions.size
}

export interface MassDeleteGuard {
  /** A person confirmed the deletions; the guard lets them through once. */
  readonly confirmed: boolean
  /** Deleting this many or more, and more than `maxFraction` of the copies, halts the run. */
  readonly minDeletes: number
  readonly maxFraction: number
}

export const defaultGuard: MassDeleteGuard = { confirmed: false, minDeletes: 5, maxFraction: 0.5 }

/**
 * The creation key of the copy of `sourceUid` under a relationship. Deterministic, so that a
 * create retried after a crash meets its earlier self (AlreadyExists) instead of writing a
 * duplicate; hashed, so that any UID makes a safe name. Providers turn it into their own form
 * (CalDAV: `<key>.ics`, the names copies have always had).
 */
export const copyKey = (relationshipId: string, sourceUid: string): string =>
  `almanac-${createHash("sha256").update(`${relationshipId}\u0000${sourceUid}`).digest("hex").slice(0, 32)}`

/** The UID of the copy: derived, because some servers (iCloud) refuse one UID in two calendars of an account. */
export const copyUid = (relationshipId: string, sourceUid: string): string =>
  copyKey(relationshipId, sourceUid)

const byRef = <A extends { readonly ref: string }>(a: A, b: A) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0)

/** Plans the copies of a source calendar's originals after one poll of the source. */
export const planSource = (input: {
  readonly relationshipId: string
  readonly links: ReadonlyArray<Link>
  readonly view: CalendarView
  readonly events: ReadonlyArray<SourceEvent>
  readonly guard: MassDeleteGuard
  /** The target takes no writes (a read-only calendar): nothing is planned for it. */
  readonly targetReadOnly?: boolean
}): Plan => {
  const { relationshipId, links, view } = input
  if (input.targetReadOnly === true) {
    return {
      relationshipId,
      actions: [...input.events]
        .sort(byRef)
        .map((e) => ({ _tag: "Skip", ref: e.ref, reason: "read-only-target" }))
    }
  }
  const linkByUid = new Map(links.map((l) => [l.sourceUid, l]))
  const actions: Array<Action> = []
  const seen = new Set<string>()

  for (const event of [...input.events].sort(byRef)) {
    if (event.isCopy) {
      actions.push({ _tag: "Skip", ref: event.ref, reason: "is-a-copy" })
      continue
    }
    if (seen.has(event.uid)) {
      actions.push({ _tag: "Skip", ref: event.ref, reason: "duplicate-uid" })
      continue
    }
    seen.add(event.uid)
    const link = linkByUid.get(event.uid)
    if (link === undefined) {
      actions.push(
        event.inWindow
          ? {
              _tag: "Create",
              sourceUid: event.uid,
              sourceRef: event.ref,
              sourceVersion: event.version,
              key: copyKey(relationshipId, event.uid),
              copy: event.copy,
              hash: event.hash,
              reason: "new"
            }
          : { _tag: "Skip", ref: event.ref, reason: "outside-window" }
      )
    } else if (link.contentHash === event.hash) {
      // Linked events that leave the window are kept in step, not deleted: the window limits what
      // we start copying, it never removes history.
      actions.push(
        link.sourceRef !== event.ref || link.sourceVersion !== event.version
          ? {
              _tag: "Track",
              link,
              sourceRef: event.ref,
              sourceVersion: event.version,
              targetVersion: link.targetVersion
            }
          : { _tag: "Skip", ref: event.ref, reason: "unchanged" }
      )
    } else {
      actions.push({
        _tag: "Update",
        link,
        sourceRef: event.ref,
        sourceVersion: event.version,
        copy: event.copy,
        hash: event.hash,
        sequence: link.sequence + 1,
        reason: "source-changed"
      })
    }
  }

  // An original is gone when its ref is gone (inside the listing's scope), or when its ref now
  // holds another UID (deleted and created again under the same name: feeds report that as a
  // change, not a deletion). A UID seen at another ref was renamed, not deleted. Items listed but
  // not decoded (bad, missing, unchanged) are still there.
  const isGone = goneIn(view)
  const uidAt = new Map(input.events.map((e) => [e.ref, e.uid]))
  const replaced = (l: Link) => {
    const now = uidAt.get(l.sourceRef)
    return now !== undefined && now !== l.sourceUid
  }
  const gone = links.filter((l) => !seen.has(l.sourceUid) && (replaced(l) || isGone(l.sourceRef)))
  const { guard } = input
  const remaining = links.length - gone.length
  const suspicious =
    gone.length > 0 &&
    ((remaining === 0 && links.length >= 2) ||
      (gone.length >= guard.minDeletes && gone.length > links.length * guard.maxFraction))
  if (suspicious && !guard.confirmed) {
    return {
      relationshipId,
      actions: [],
      halted: {
        reason:
          remaining === 0
            ? `the source lists none of the ${links.length} events it had; nothing was written until a person confirms`
            : `the source lost ${gone.length} of ${links.length} events at once; nothing was written until a person confirms`,
        deletes: gone.length,
        known: links.length
      }
    }
  }
  for (const link of gone) actions.push({ _tag: "Delete", link, reason: "source-deleted" })
  return { relationshipId, actions }
}

/** A copy as found on the target: its version, and the hash of its content when it was fetched. */
export interface ObservedCopy {
  readonly ref: string
  readonly version: string
  readonly hash: string
}

/**
 * The originals a poll of the target needs before it can plan repairs: those of copies that are
 * gone from the target, and of copies whose content a person changed there. Source refs.
 */
export const originalsToFetch = (input: {
  readonly links: ReadonlyArray<Link>
  readonly view: CalendarView
  readonly observed: ReadonlyArray<ObservedCopy>
}): ReadonlyArray<string> => {
  const isGone = goneIn(input.view)
  const byTarget = new Map(input.links.map((l) => [l.targetRef, l]))
  const need = [
    ...input.links.filter((l) => isGone(l.targetRef)),
    ...input.observed.flatMap((o) => {
      const l = byTarget.get(o.ref)
      return l !== undefined && o.hash !== l.contentHash ? [l] : []
    })
  ]
  return [...new Set(need.map((l) => l.sourceRef))]
}

/**
 * Plans the repair of copies that were edited or deleted on the target, after one poll of the
 * target. `originals` holds the mapped source events of the affected links, by source ref.
 */
export const planTarget = (input: {
  readonly relationshipId: string
  readonly links: ReadonlyArray<Link>
  readonly view: CalendarView
  readonly observed: ReadonlyArray<ObservedCopy>
  readonly originals: ReadonlyMap<string, SourceEvent>
}): Plan => {
  const { relationshipId, links, view, originals } = input
  const linkByTarget = new Map(links.map((l) => [l.targetRef, l]))
  const actions: Array<Action> = []
  const isGone = goneIn(view)

  for (const link of links) {
    if (!isGone(link.targetRef)) continue
    const original = originals.get(link.sourceRef)
    // Without the original there is nothing to put back; the source's own poll settles the link.
    if (original === undefined || original.uid !== link.sourceUid) continue
    actions.push({
      _tag: "Create",
      sourceUid: link.sourceUid,
      sourceRef: original.ref,
      sourceVersion: original.version,
      key: link.key,
      copy: original.copy,
      hash: original.hash,
      reason: "copy-deleted"
    })
  }

  for (const copy of [...input.observed].sort(byRef)) {
    const link = linkByTarget.get(copy.ref)
    if (link === undefined || copy.version === link.targetVersion) continue
    if (copy.hash === link.contentHash) {
      actions.push({
        _tag: "Track",
        link,
        sourceRef: link.sourceRef,
        sourceVersion: link.sourceVersion,
        targetVersion: copy.version
      })
      continue
    }
    const original = originals.get(link.sourceRef)
    if (original === undefined || original.uid !== link.sourceUid) continue
    // The copy already holds what the original says: our own update whose answer was lost (the
    // poll failed after the server applied it). Recorded as written, not written again.
    if (copy.hash === original.hash) {
      actions.push({
        _tag: "Track",
        link: { ...link, contentHash: original.hash, sequence: link.sequence + 1 },
        sourceRef: original.ref,
        sourceVersion: original.version,
        targetVersion: copy.version
      })
      continue
    }
    actions.push({
      _tag: "Update",
      link: { ...link, targetVersion: copy.version },
      sourceRef: original.ref,
      sourceVersion: original.version,
      copy: original.copy,
      hash: original.hash,
      sequence: link.sequence + 1,
      reason: "copy-edited"
    })
  }
  return { relationshipId, actions }
}

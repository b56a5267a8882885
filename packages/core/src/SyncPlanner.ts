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
import type { ItemVersion } from "./CalendarProvider.js"
import type { EventResource } from "./EventModel.js"
import type { Action, Link, Plan } from "./SyncPlan.js"

/** An original (or a copy, flagged) fetched from a calendar, already mapped by the relationship's policy. */
export interface SourceEvent {
  readonly href: string
  readonly etag: string
  readonly uid: string
  /** It carries our origin marker: a copy we wrote, never to be copied again (no echoes). */
  readonly isCopy: boolean
  /** It occurs inside the relationship's sync window (always true without a window). */
  readonly inWindow: boolean
  readonly copy: EventResource
  readonly hash: string
}

/** What one poll saw of a calendar. */
export interface CalendarView {
  /** A complete listing (first sync, resync, reconcile): anything not listed is gone. */
  readonly complete: boolean
  /** Listed items: every item for a complete view, the changed ones for a delta. */
  readonly listed: ReadonlyArray<ItemVersion>
  /** Deleted hrefs (deltas only). */
  readonly deleted: ReadonlyArray<string>
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
 * The name (last path segment) of the copy of `sourceUid` under a relationship. Deterministic, so
 * that a create retried after a crash meets its earlier self (If-None-Match: *) instead of
 * writing a duplicate; hashed, so that any UID makes a safe file name.
 */
export const copyName = (relationshipId: string, sourceUid: string): string =>
  `almanac-${createHash("sha256").update(`${relationshipId}\u0000${sourceUid}`).digest("hex").slice(0, 32)}.ics`

/** The UID of the copy: derived, because some servers (iCloud) refuse one UID in two calendars of an account. */
export const copyUid = (relationshipId: string, sourceUid: string): string =>
  copyName(relationshipId, sourceUid).replace(/\.ics$/, "")

const byHref = <A extends { readonly href: string }>(a: A, b: A) =>
  a.href < b.href ? -1 : a.href > b.href ? 1 : 0

/** Plans the copies of a source calendar's originals after one poll of the source. */
export const planSource = (input: {
  readonly relationshipId: string
  readonly links: ReadonlyArray<Link>
  readonly view: CalendarView
  readonly events: ReadonlyArray<SourceEvent>
  readonly guard: MassDeleteGuard
}): Plan => {
  const { relationshipId, links, view } = input
  const linkByUid = new Map(links.map((l) => [l.sourceUid, l]))
  const actions: Array<Action> = []
  const seen = new Set<string>()

  for (const event of [...input.events].sort(byHref)) {
    if (event.isCopy) {
      actions.push({ _tag: "Skip", href: event.href, reason: "is-a-copy" })
      continue
    }
    if (seen.has(event.uid)) {
      actions.push({ _tag: "Skip", href: event.href, reason: "duplicate-uid" })
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
              sourceHref: event.href,
              sourceEtag: event.etag,
              name: copyName(relationshipId, event.uid),
              copy: event.copy,
              hash: event.hash,
              reason: "new"
            }
          : { _tag: "Skip", href: event.href, reason: "outside-window" }
      )
    } else if (link.contentHash === event.hash) {
      // Linked events that leave the window are kept in step, not deleted: the window limits what
      // we start copying, it never removes history.
      actions.push(
        link.sourceHref !== event.href || link.sourceEtag !== event.etag
          ? {
              _tag: "Track",
              link,
              sourceHref: event.href,
              sourceEtag: event.etag,
              targetEtag: link.targetEtag
            }
          : { _tag: "Skip", href: event.href, reason: "unchanged" }
      )
    } else {
      actions.push({
        _tag: "Update",
        link,
        sourceHref: event.href,
        sourceEtag: event.etag,
        copy: event.copy,
        hash: event.hash,
        sequence: link.sequence + 1,
        reason: "source-changed"
      })
    }
  }

  // An original is gone when its href is gone, or when its href now holds another UID (deleted
  // and created again under the same name: feeds report that as a change, not a deletion). A UID
  // seen at another href was renamed, not deleted. Items listed but not decoded (bad, missing,
  // unchanged) are still there.
  const listed = new Set(view.listed.map((i) => i.href))
  const deleted = new Set(view.deleted)
  const uidAt = new Map(input.events.map((e) => [e.href, e.uid]))
  const replaced = (l: Link) => {
    const now = uidAt.get(l.sourceHref)
    return now !== undefined && now !== l.sourceUid
  }
  const gone = links.filter(
    (l) =>
      !seen.has(l.sourceUid) &&
      (replaced(l) || (view.complete ? !listed.has(l.sourceHref) : deleted.has(l.sourceHref)))
  )
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
  readonly href: string
  readonly etag: string
  readonly hash: string
}

/**
 * Plans the repair of copies that were edited or deleted on the target, after one poll of the
 * target. `originals` holds the mapped source events of the affected links, by source href.
 */
export const planTarget = (input: {
  readonly relationshipId: string
  readonly links: ReadonlyArray<Link>
  readonly view: CalendarView
  readonly observed: ReadonlyArray<ObservedCopy>
  readonly originals: ReadonlyMap<string, SourceEvent>
}): Plan => {
  const { relationshipId, links, view, originals } = input
  const linkByTarget = new Map(links.map((l) => [l.targetHref, l]))
  const actions: Array<Action> = []
  const listed = new Set(view.listed.map((i) => i.href))
  const deleted = new Set(view.deleted)

  for (const link of links) {
    const gone = view.complete ? !listed.has(link.targetHref) : deleted.has(link.targetHref)
    if (!gone) continue
    const original = originals.get(link.sourceHref)
    // Without the original there is nothing to put back; the source's own poll settles the link.
    if (original === undefined || original.uid !== link.sourceUid) continue
    actions.push({
      _tag: "Create",
      sourceUid: link.sourceUid,
      sourceHref: original.href,
      sourceEtag: original.etag,
      name: copyName(relationshipId, link.sourceUid),
      copy: original.copy,
      hash: original.hash,
      reason: "copy-deleted"
    })
  }

  for (const copy of [...input.observed].sort(byHref)) {
    const link = linkByTarget.get(copy.href)
    if (link === undefined || copy.etag === link.targetEtag) continue
    if (copy.hash === link.contentHash) {
      actions.push({
        _tag: "Track",
        link,
        sourceHref: link.sourceHref,
        sourceEtag: link.sourceEtag,
        targetEtag: copy.etag
      })
      continue
    }
    const original = originals.get(link.sourceHref)
    if (original === undefined || original.uid !== link.sourceUid) continue
    actions.push({
      _tag: "Update",
      link: { ...link, targetEtag: copy.etag },
      sourceHref: original.href,
      sourceEtag: original.etag,
      copy: original.copy,
      hash: original.hash,
      sequence: link.sequence + 1,
      reason: "copy-edited"
    })
  }
  return { relationshipId, actions }
}

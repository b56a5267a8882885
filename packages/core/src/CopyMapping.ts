/**
 * How a relationship turns one original into the copy it writes: the policy (fields, privacy),
 * a UID derived from the relationship and the original's UID, and the origin marker; then what
 * the target can hold (its provider's normalize), before the content hash is taken.
 */
import { Option } from "effect"
import * as ContentHash from "./ContentHash.js"
import type { EventResource } from "./EventModel.js"
import * as FreeBusy from "./FreeBusy.js"
import * as Policy from "./Policy.js"
import type { SyncWindow } from "./Relationship.js"
import { copyUid, type SourceEvent } from "./SyncPlanner.js"

const DAY = 86_400_000

export const windowAt = (window: SyncWindow, now: Date): { readonly start: Date; readonly end: Date } => ({
  start: new Date(now.getTime() - window.pastDays * DAY),
  end: new Date(now.getTime() + window.futureDays * DAY)
})

/** The copy of `resource` under a relationship, identical for identical input (so its hash is stable). */
export const copyOf = (
  relationshipId: string,
  policy: Policy.SyncPolicy,
  resource: EventResource
): EventResource =>
  Policy.toCopy(
    resource,
    policy,
    { relationship: relationshipId, sourceUid: resource.uid },
    { uid: copyUid(relationshipId, resource.uid) }
  )

export const sourceEvent = (
  relationship: {
    readonly id: string
    readonly policy: Policy.SyncPolicy
    readonly window: Option.Option<SyncWindow>
  },
  item: { readonly ref: string; readonly version: string; readonly resource: EventResource },
  now: Date,
  /** The target's normalize: the copy is hashed as the target will hold it. */
  normalize: (resource: EventResource) => EventResource
): SourceEvent => {
  const isCopy = Option.isSome(item.resource.origin)
  const copy = normalize(copyOf(relationship.id, relationship.policy, item.resource))
  return {
    ref: item.ref,
    version: item.version,
    uid: item.resource.uid,
    isCopy,
    inWindow: Option.match(relationship.window, {
      onNone: () => true,
      onSome: (w) => FreeBusy.occursWithin(item.resource, windowAt(w, now))
    }),
    copy,
    hash: ContentHash.of(copy)
  }
}

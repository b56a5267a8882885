/**
 * The explicit list of what a sync will do, computed before any write (as in vdirsyncer): easy to
 * test, easy to print with `--dry-run`, and the only thing the executor acts on.
 */
import type { EventResource } from "./EventModel.js"

/** What we know of one copy we wrote: the row of the link table. */
export interface Link {
  readonly relationshipId: string
  readonly sourceUid: string
  /** The creation key the copy was written under (deterministic from the relationship and the source UID). */
  readonly key: string
  readonly sourceRef: string
  readonly sourceVersion: string
  readonly targetRef: string
  readonly targetVersion: string
  /** Hash of the copy as we last wrote it (policy applied), to tell "nothing changed" without a write. */
  readonly contentHash: string
  /** SEQUENCE of the copy as we last wrote it; every update we make increases it. */
  readonly sequence: number
}

export type Action =
  /** Write a new copy under the deterministic creation key; "copy-deleted" when a deleted copy is put back. */
  | {
      readonly _tag: "Create"
      readonly sourceUid: string
      readonly sourceRef: string
      readonly sourceVersion: string
      readonly key: string
      readonly copy: EventResource
      readonly hash: string
      readonly reason: "new" | "copy-deleted"
    }
  /** Overwrite an existing copy (on condition that it is still at the version we know). */
  | {
      readonly _tag: "Update"
      readonly link: Link
      readonly sourceRef: string
      readonly sourceVersion: string
      readonly copy: EventResource
      readonly hash: string
      readonly sequence: number
      readonly reason: "source-changed" | "copy-edited"
    }
  /** Remove a copy whose original is gone. */
  | { readonly _tag: "Delete"; readonly link: Link; readonly reason: "source-deleted" }
  /** Bookkeeping only: a ref or version moved (a renamed original, a server-side version change), the copy's content did not. */
  | {
      readonly _tag: "Track"
      readonly link: Link
      readonly sourceRef: string
      readonly sourceVersion: string
      readonly targetVersion: string
    }
  /** Nothing to do for this item, and why. */
  | {
      readonly _tag: "Skip"
      readonly ref: string
      readonly reason: "unchanged" | "is-a-copy" | "outside-window" | "duplicate-uid" | "read-only-target"
    }

/** A plan for one relationship. A halted plan is not executed at all. */
export interface Plan {
  readonly relationshipId: string
  readonly actions: ReadonlyArray<Action>
  readonly halted?: { readonly reason: string; readonly deletes: number; readonly known: number } | undefined
}

export const writes = (plan: Plan): ReadonlyArray<Action> =>
  plan.actions.filter((a) => a._tag === "Create" || a._tag === "Update" || a._tag === "Delete")

export interface PlanCounts {
  readonly create: number
  readonly update: number
  readonly delete: number
  readonly track: number
  readonly skip: number
}

export const count = (actions: ReadonlyArray<Action>): PlanCounts => ({
  create: actions.filter((a) => a._tag === "Create").length,
  update: actions.filter((a) => a._tag === "Update").length,
  delete: actions.filter((a) => a._tag === "Delete").length,
  track: actions.filter((a) => a._tag === "Track").length,
  skip: actions.filter((a) => a._tag === "Skip").length
})

/** One line per action, for `--dry-run` and logs. */
export const describe = (action: Action): string => {
  switch (action._tag) {
    case "Create":
      return `create  ${action.key}  from ${action.sourceRef} (${action.reason})`
    case "Update":
      return `update  ${action.link.targetRef}  from ${action.sourceRef} (${action.reason}, sequence ${action.sequence})`
    case "Delete":
      return `delete  ${action.link.targetRef}  (${action.reason}: ${action.link.sourceRef})`
    case "Track":
      return `track   ${action.link.targetRef}  (new version of ${action.sourceRef}, no change to the copy)`
    case "Skip":
      return `skip    ${action.ref}  (${action.reason})`
  }
}

/**
 * The port between the sync engine and a calendar service. A provider is opened for one calendar
 * and speaks in hrefs, versions (etags) and decoded event resources; how it finds changes
 * (CalDAV ctag → sync-collection → multiget, Google syncToken, Graph delta links) stays behind it.
 */
import { Context, type Effect, type Option } from "effect"
import type { EventResource } from "./EventModel.js"
import type { EtagMismatch, NotFound, PollError, Rejected, UidConflict } from "./ProviderError.js"

/** One item's address and version. */
export interface ItemVersion {
  readonly href: string
  readonly etag: string
}

/** A provider's change-feed position (ctag + sync token, a delta link…), opaque to the engine. */
export type Cursor = string

export type Changes =
  /** Nothing changed since the cursor: the cheap answer of an idle calendar. */
  | { readonly _tag: "Unchanged" }
  /** What changed since the cursor. */
  | {
      readonly _tag: "Delta"
      readonly changed: ReadonlyArray<ItemVersion>
      readonly deleted: ReadonlyArray<string>
      readonly cursor: Cursor
    }
  /** Every item the calendar holds; anything not listed is gone. */
  | { readonly _tag: "Snapshot"; readonly items: ReadonlyArray<ItemVersion>; readonly cursor: Cursor }

export type Fetched =
  | { readonly _tag: "Found"; readonly href: string; readonly etag: string; readonly resource: EventResource }
  /** The item is there but could not be understood: quarantined, never fatal for the calendar. */
  | { readonly _tag: "Bad"; readonly href: string; readonly etag: string; readonly reason: string }
  /** Listed a moment ago but not there now (eventual consistency): try again next poll. */
  | { readonly _tag: "Missing"; readonly href: string }

export interface Capabilities {
  /** The provider can report changes since a cursor (otherwise every poll is a snapshot). */
  readonly deltas: boolean
}

export type WriteError = EtagMismatch | NotFound | UidConflict | Rejected | PollError

export interface CalendarProvider {
  readonly calendarUrl: string
  readonly capabilities: Capabilities
  /** Changes since `cursor`; with no cursor, a snapshot. Fails with TokenInvalid when the cursor is rejected. */
  readonly changes: (cursor: Option.Option<Cursor>) => Effect.Effect<Changes, PollError>
  /** A complete listing, for a resync after a rejected cursor and for periodic reconciliation. */
  readonly snapshot: Effect.Effect<Extract<Changes, { _tag: "Snapshot" }>, PollError>
  readonly fetch: (hrefs: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Fetched>, PollError>
  /**
   * Creates an item under a name we choose (deterministic, so that a create retried after a crash
   * finds its earlier self instead of duplicating): fails with EtagMismatch if the name is taken.
   */
  readonly create: (name: string, resource: EventResource) => Effect.Effect<ItemVersion, WriteError>
  readonly update: (
    href: string,
    etag: string,
    resource: EventResource
  ) => Effect.Effect<ItemVersion, WriteError>
  readonly remove: (href: string, etag: string) => Effect.Effect<void, WriteError>
}

/** Opens providers for calendars the store knows, by URL and account. */
export class ProviderRegistry extends Context.Tag("@almanac/core/ProviderRegistry")<
  ProviderRegistry,
  {
    readonly open: (calendar: {
      readonly url: string
      readonly accountId: string
    }) => Effect.Effect<CalendarProvider, PollError>
  }
>() {}

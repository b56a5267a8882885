/**
 * The port between the sync engine and a calendar service. A provider is opened for one calendar
 * and speaks the engine's language, not its wire's: items have a `ref` and a `version`, listings
 * say what part of the calendar they cover, copies are created under the engine's deterministic
 * key. How a provider finds changes (CalDAV ctag → sync-collection → multiget, Google syncToken,
 * Graph delta links) and what its ids look like stay behind it.
 */
import { Context, type Effect, type Option } from "effect"
import type { EventResource } from "./EventModel.js"
import type {
  AlreadyExists,
  EtagMismatch,
  NotFound,
  PollError,
  Rejected,
  UidConflict
} from "./ProviderError.js"

/** One item's address and version (a CalDAV href and etag, a Google event id and etag…). */
export interface ItemVersion {
  readonly ref: string
  readonly version: string
}

/** A provider's change-feed position (ctag + sync token, a delta link…), opaque to the engine. */
export type Cursor = string

/**
 * What a listing covers. An item not listed is gone only inside it: a window listing says
 * nothing of items outside the window. Window bounds are epoch milliseconds, end exclusive.
 */
export type Scope =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Window"; readonly start: number; readonly end: number }

export const whole: Scope = { _tag: "Whole" }

export type Changes =
  /** Nothing changed since the cursor: the cheap answer of an idle calendar. */
  | { readonly _tag: "Unchanged" }
  /** What changed since the cursor, inside `scope`. */
  | {
      readonly _tag: "Delta"
      readonly changed: ReadonlyArray<ItemVersion>
      readonly deleted: ReadonlyArray<string>
      readonly cursor: Cursor
      readonly scope: Scope
    }
  /** Every item inside `scope`; anything not listed is gone from the scope. */
  | {
      readonly _tag: "Snapshot"
      readonly items: ReadonlyArray<ItemVersion>
      readonly cursor: Cursor
      readonly scope: Scope
    }

export type Fetched =
  | {
      readonly _tag: "Found"
      readonly ref: string
      readonly version: string
      readonly resource: EventResource
    }
  /** The item is there but could not be understood: quarantined, never fatal for the calendar. */
  | { readonly _tag: "Bad"; readonly ref: string; readonly version: string; readonly reason: string }
  /** Not there (listed a moment ago and gone, eventual consistency, or never there). */
  | { readonly _tag: "Missing"; readonly ref: string }

export interface Capabilities {
  /** The provider can report changes since a cursor (otherwise every poll is a snapshot). */
  readonly deltas: boolean
  /** The engine never plans a write to this calendar (a subscribed ICS feed). */
  readonly readOnly: boolean
  /** What a listing covers: the whole calendar, or a window only (Graph's delta). */
  readonly scope: "whole" | "window"
  /** Who makes an item's ref: derived from the creation key (CalDAV, Google), or assigned by the server (Graph). */
  readonly ids: "key" | "server"
}

/** Whether copies may be written to a calendar with these capabilities (as a target, or in a two-way sync). */
export const acceptsCopies = (capabilities: Capabilities): boolean => !capabilities.readOnly

export type WriteError = EtagMismatch | NotFound | UidConflict | Rejected | PollError

export interface CalendarProvider {
  readonly calendarRef: string
  readonly capabilities: Capabilities
  /**
   * What this calendar's writes are limited by: calendars with the same key share one adaptive
   * write limit, learnt from how the server answers. CalDAV gives the server's host and port;
   * for services that throttle per account (Google, Microsoft) the server's registry gives the
   * account. Left out, the calendar has its own.
   */
  readonly writeHost?: string
  /** Changes since `cursor`; with no cursor, a snapshot. Fails with TokenInvalid when the cursor is rejected. */
  readonly changes: (cursor: Option.Option<Cursor>) => Effect.Effect<Changes, PollError>
  /** A complete listing of the scope, for a resync after a rejected cursor and for reconciliation. */
  readonly snapshot: Effect.Effect<Extract<Changes, { _tag: "Snapshot" }>, PollError>
  readonly fetch: (refs: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Fetched>, PollError>
  /**
   * Creates a copy under the engine's deterministic creation key (relationship + source UID),
   * which the provider turns into its own form (CalDAV: `<key>.ics`). When a copy under that key
   * is already there (a create retried after a crash), fails with AlreadyExists and its ref.
   */
  readonly create: (
    key: string,
    resource: EventResource
  ) => Effect.Effect<ItemVersion, WriteError | AlreadyExists>
  /** Overwrites an item if it is still at `version` (EtagMismatch otherwise). */
  readonly update: (
    ref: string,
    version: string,
    resource: EventResource
  ) => Effect.Effect<ItemVersion, WriteError>
  /** Removes an item if it is still at `version` (EtagMismatch otherwise). */
  readonly remove: (ref: string, version: string) => Effect.Effect<void, WriteError>
  /**
   * What this provider can store of a resource (no floating times on Google, no SCHEDULE-AGENT
   * off CalDAV…). Idempotent. Content hashes are taken after it, so that the target's own
   * rewriting never looks like a person's edit.
   */
  readonly normalize: (resource: EventResource) => EventResource
}

/** A calendar as the engine's store knows it, enough to open its provider. */
export interface CalendarAddress {
  readonly ref: string
  readonly accountId: string
  /** The account's kind: "icloud", "caldav", "google", "ics"… */
  readonly kind: string
}

/** Opens providers for calendars the store knows. */
export class ProviderRegistry extends Context.Tag("@almanac/core/ProviderRegistry")<
  ProviderRegistry,
  {
    readonly open: (calendar: CalendarAddress) => Effect.Effect<CalendarProvider, PollError>
  }
>() {}

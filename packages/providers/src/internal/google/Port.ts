/**
 * The reshaped provider port, as the Google provider targets it.
 * TODO(port): import from @almanac/core once merged (the port is being reshaped in core in
 * parallel; these are local copies of its announced shape, to be deleted then).
 */
import type { EventModel, ProviderError } from "@almanac/core"
import type { Effect, Option } from "effect"
import * as Schema from "effect/Schema"

export interface ItemVersion {
  readonly ref: string
  readonly version: string
}

export type Scope =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Window"; readonly start: number; readonly end: number }

export type Changes =
  | { readonly _tag: "Unchanged" }
  | {
      readonly _tag: "Delta"
      readonly changed: ReadonlyArray<ItemVersion>
      readonly deleted: ReadonlyArray<string>
      readonly cursor: string
      readonly scope: Scope
    }
  | {
      readonly _tag: "Snapshot"
      readonly items: ReadonlyArray<ItemVersion>
      readonly cursor: string
      readonly scope: Scope
    }

export type Fetched =
  | {
      readonly _tag: "Found"
      readonly ref: string
      readonly version: string
      readonly resource: EventModel.EventResource
    }
  | { readonly _tag: "Bad"; readonly ref: string; readonly version: string; readonly reason: string }
  | { readonly _tag: "Missing"; readonly ref: string }

export interface Capabilities {
  readonly deltas: boolean
  readonly readOnly: boolean
  readonly scope: "whole" | "window"
  readonly ids: "key" | "server"
}

/** A create found its key already taken: the item there is (very likely) our own earlier copy. */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  ref: Schema.String
}) {}

export type PollError = ProviderError.PollError

export type WriteError =
  | ProviderError.EtagMismatch
  | ProviderError.NotFound
  | ProviderError.UidConflict
  | ProviderError.Rejected
  | AlreadyExists
  | PollError

export interface CalendarProvider {
  readonly calendarRef: string
  readonly capabilities: Capabilities
  readonly changes: (cursor: Option.Option<string>) => Effect.Effect<Changes, PollError>
  readonly snapshot: Effect.Effect<Extract<Changes, { _tag: "Snapshot" }>, PollError>
  readonly fetch: (refs: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Fetched>, PollError>
  readonly create: (key: string, resource: EventModel.EventResource) => Effect.Effect<ItemVersion, WriteError>
  readonly update: (
    ref: string,
    version: string,
    resource: EventModel.EventResource
  ) => Effect.Effect<ItemVersion, WriteError>
  readonly remove: (ref: string, version: string) => Effect.Effect<void, WriteError>
  readonly normalize: (resource: EventModel.EventResource) => EventModel.EventResource
}

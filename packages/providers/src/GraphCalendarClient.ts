/**
 * A typed client of Microsoft Graph v1.0's calendar API for one account (one mailbox), over
 * @effect/platform's HttpClient. It speaks Graph's ids, etags and event JSON; it knows nothing of
 * sync. Graph's answers are mapped to the engine's errors here, once (docs/providers.md B.2–B.8):
 *
 * 401 → the token source refreshes once and the request is sent again; a second 401 is
 * `Unauthorized`. 404 `NotFound` (a DELETE that finds nothing is success: the event is gone).
 * 410, `syncStateNotFound` and `resyncRequired` on a delta `TokenInvalid`. 412 `EtagMismatch`.
 * 429 and 503 are retried after `Retry-After` (capped; exponential backoff without one), then
 * `RateLimited` (429) or `Transient` (503). Other 5xx, timeouts and unreadable answers `Transient`.
 * Other 4xx on a read `Transient` (the poll backs off and says why), on a write `Rejected`.
 *
 * Every request sends `Prefer: IdType="ImmutableId"` (ids that survive a move inside the mailbox)
 * and `Prefer: outlook.timezone="UTC"` (every time in an answer is UTC, so parsing is deterministic).
 *
 * Concurrency: Outlook allows 4 concurrent requests per app and mailbox (B.6). The limit is a
 * semaphore of this client instance, so make ONE client per account (mailbox) and share it between
 * that account's calendars; two clients for one mailbox could together exceed the limit.
 */

import type { ProviderError } from "@almanac/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { EndpointRefused } from "./GoogleOAuth.js"

export const DEFAULT_API_URL = "https://graph.microsoft.com/v1.0"

/** Outlook's limit of concurrent requests per app and mailbox (throttling-limits, Outlook service). */
export const MAILBOX_CONCURRENCY = 4

export type TokenError = ProviderError.Unauthorized | ProviderError.Transient

/**
 * The access token of the account, kept fresh (structurally GoogleTokenSource's shape, so one
 * generic OAuth token source serves both).
 */
export interface GraphTokenSourceShape {
  readonly accessToken: Effect.Effect<Redacted.Redacted<string>, TokenError>
  /** Graph answered 401 to `rejected`: refresh unless already replaced, give the token to retry with. */
  readonly refreshAfterRejection: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, TokenError>
}

export type ClientError =
  | ProviderError.TokenInvalid
  | ProviderError.EtagMismatch
  | ProviderError.Unauthorized
  | ProviderError.RateLimited
  | ProviderError.Transient
  | ProviderError.NotFound
  | ProviderError.Rejected

/** An event as Graph's JSON, kept whole for the codec (GraphCodec decodes it). */
export type EventJson = Readonly<Record<string, unknown>>

export interface Me {
  readonly id: string
  /** Null for some accounts (personal Microsoft accounts without an Outlook address). */
  readonly mail: Option.Option<string>
  readonly userPrincipalName: string
  readonly displayName: Option.Option<string>
}

export interface CalendarEntry {
  readonly id: string
  readonly name: string
  /** The account may write events here. */
  readonly canEdit: boolean
  readonly isDefaultCalendar: boolean
  /** The owner's address (another person's for a shared calendar). */
  readonly owner: Option.Option<string>
}

export type EventType = "singleInstance" | "occurrence" | "exception" | "seriesMaster"

/** One event in an answer, with what listing needs; `json` is the whole resource for the codec. */
export interface EventItem {
  readonly id: string
  /** `@odata.etag` (W/"…"): the If-Match of a later write. */
  readonly etag: string
  readonly type: Option.Option<EventType>
  readonly seriesMasterId: Option.Option<string>
  /** The value of the extended property the request expanded, when the event has it. */
  readonly extendedProperty: Option.Option<string>
  readonly json: EventJson
}

/** A delta entry: an event as it is now, or an id Graph says is gone from the view. */
export type DeltaEntry =
  | { readonly _tag: "Changed"; readonly item: EventItem }
  | {
      readonly _tag: "Removed"
      readonly id: string
      /** `deleted` for both a deleted event and one outside the window (MSDELTA). */
      readonly reason: string
    }

export interface Window {
  readonly start: Date
  readonly end: Date
}

/** Where a delta starts: a new round over a window (a full sync), or a stored link. */
export type DeltaFrom =
  | { readonly _tag: "Window"; readonly window: Window }
  | { readonly _tag: "Link"; readonly link: string }

export interface DeltaPage {
  readonly entries: ReadonlyArray<DeltaEntry>
  /** `Next` (more pages of this round) or `Delta` (the round is complete: store it for the next). */
  readonly next:
    | { readonly _tag: "Next"; readonly link: string }
    | { readonly _tag: "Delta"; readonly link: string }
}

export interface DeltaRound {
  /** Every page's entries in order; the same id may appear more than once (replays). */
  readonly entries: ReadonlyArray<DeltaEntry>
  /** The `@odata.deltaLink` of the last page: the cursor for the next round. */
  readonly deltaLink: string
}

/** What a new event is created with: the event's JSON and the idempotency key of its POST. */
export interface NewEvent {
  readonly event: EventJson
  /** Graph's `transactionId`: a retried POST with the same value returns the first event. */
  readonly transactionId: string
}

export interface ScheduleItem {
  readonly status: string
  readonly start: Date
  readonly end: Date
}

export interface Schedule {
  readonly scheduleId: string
  readonly availabilityView: string
  readonly items: ReadonlyArray<ScheduleItem>
  /** Graph's error for this schedule (an unknown address), if any. */
  readonly error: Option.Option<string>
}

export interface ExchangeStats {
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
}

export interface GraphCalendarClientShape {
  readonly me: Effect.Effect<Me, ClientError>
  /** Every calendar of the mailbox, all pages. */
  readonly listCalendars: Effect.Effect<ReadonlyArray<CalendarEntry>, ClientError>
  /** One page of `calendarView/delta` on the calendar. */
  readonly deltaPage: (calendarId: string, from: DeltaFrom) => Effect.Effect<DeltaPage, ClientError>
  /** A whole round: follows `@odata.nextLink` until `@odata.deltaLink`. */
  readonly deltaRound: (calendarId: string, from: DeltaFrom) => Effect.Effect<DeltaRound, ClientError>
  /** One event (occurrences and exceptions too), with the extended property expanded when named. */
  readonly getEvent: (
    calendarId: string,
    eventId: string,
    options?: { readonly expandProperty?: string | undefined }
  ) => Effect.Effect<EventItem, ClientError>
  /** The occurrences and exceptions of a series in a window (cancelled occurrences are absent). */
  readonly instances: (
    calendarId: string,
    masterId: string,
    window: Window,
    options?: { readonly expandProperty?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<EventItem>, ClientError>
  /** The events (single instances and series masters) whose extended property has this value. */
  readonly findByExtendedProperty: (
    calendarId: string,
    propertyId: string,
    value: string
  ) => Effect.Effect<ReadonlyArray<EventItem>, ClientError>
  readonly createEvent: (
    calendarId: string,
    event: NewEvent,
    options?: { readonly expandProperty?: string | undefined }
  ) => Effect.Effect<EventItem, ClientError>
  /** PATCH with If-Match when an etag is given; an occurrence's id makes it an exception. */
  readonly updateEvent: (
    calendarId: string,
    eventId: string,
    fields: EventJson,
    ifMatch: Option.Option<string>
  ) => Effect.Effect<EventItem, ClientError>
  /** DELETE with If-Match when an etag is given; an event already gone (404) is success. */
  readonly deleteEvent: (
    calendarId: string,
    eventId: string,
    ifMatch: Option.Option<string>
  ) => Effect.Effect<void, ClientError>
  /** Free/busy of addresses (`POST /me/calendar/getSchedule`); not for personal accounts. */
  readonly getSchedule: (query: {
    readonly schedules: ReadonlyArray<string>
    readonly window: Window
    readonly intervalMinutes?: number | undefined
  }) => Effect.Effect<ReadonlyArray<Schedule>, ClientError>
  readonly stats: Effect.Effect<ExchangeStats>
}

export class GraphCalendarClient extends Context.Tag("@almanac/providers/GraphCalendarClient")<
  GraphCalendarClient,
  GraphCalendarClientShape
>() {}

export interface ClientOptions {
  readonly tokens: GraphTokenSourceShape
  /** The API base including its version path (default https://graph.microsoft.com/v1.0). */
  readonly apiUrl?: string | undefined
  /** Per HTTP exchange, body included (default 30 s). */
  readonly timeout?: Duration.DurationInput | undefined
  /** `Prefer: odata.maxpagesize` asked for on delta and lists (default 100). */
  readonly pageSize?: number | undefined
  /** Longest wait for one `Retry-After` before giving up with RateLimited/Transient (default 30 s). */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Attempts of one request under 429/503 (default 3). */
  readonly attempts?: number | undefined
  /** Names the account in errors. */
  readonly account: string
}

export declare const make: (
  options: ClientOptions
) => Effect.Effect<GraphCalendarClientShape, EndpointRefused, HttpClient.HttpClient>

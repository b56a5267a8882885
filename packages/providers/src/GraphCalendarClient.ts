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

import { ProviderError } from "@almanac/core"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as GraphCodec from "./GraphCodec.js"
import * as BearerExchange from "./internal/BearerExchange.js"
import { checkEndpoint, type EndpointRefused } from "./OAuth2.js"

export const DEFAULT_API_URL = "https://graph.microsoft.com/v1.0"

/** Outlook's limit of concurrent requests per app and mailbox (throttling-limits, Outlook service). */
export const MAILBOX_CONCURRENCY = 4

export type TokenError = ProviderError.Unauthorized | ProviderError.Transient

/**
 * The access token of the account, kept fresh (OAuthTokenSource's shape, so one
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

export type ExchangeStats = BearerExchange.ExchangeStats

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
  /**
   * `POST /subscriptions`: change notifications for the mailbox's events. Graph documents `me/events`
   * as the Outlook event resource for delegated access (a calendar of its own is not one), so one
   * subscription covers every calendar of the account. Graph checks both URLs with a validation
   * request before it answers; `clientState` comes back with every notification.
   */
  readonly subscribe: (subscription: {
    readonly notificationUrl: string
    readonly lifecycleNotificationUrl: string
    readonly clientState: Redacted.Redacted<string>
    readonly expiration: Date
  }) => Effect.Effect<Subscription, ClientError>
  /** `PATCH /subscriptions/{id}` with a later expiration; a subscription Graph no longer has is NotFound. */
  readonly renewSubscription: (id: string, expiration: Date) => Effect.Effect<Subscription, ClientError>
  /** `DELETE /subscriptions/{id}`; one already gone is success. */
  readonly deleteSubscription: (id: string) => Effect.Effect<void, ClientError>
  readonly stats: Effect.Effect<ExchangeStats>
}

export interface Subscription {
  readonly id: string
  /** Epoch milliseconds; renew before. */
  readonly expiration: number
}

/**
 * The longest an Outlook event subscription may live: 4,230 minutes in the revision the reference
 * cites, 10,080 in newer ones. Asking for the shorter works under both.
 */
export const SUBSCRIPTION_MAX_MINUTES = 4230

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

// ---------------------------------------------------------------------------------------------
// answers

const ErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.optional(Schema.String), message: Schema.optional(Schema.String) })
})
const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))

/** What listing needs of an event; the fields are GraphCodec's, `type` read leniently. */
const Listed = Schema.Struct({
  id: GraphCodec.Event.fields.id,
  "@odata.etag": GraphCodec.Event.fields["@odata.etag"],
  "@removed": GraphCodec.Event.fields["@removed"],
  type: Schema.optional(Schema.String),
  seriesMasterId: GraphCodec.Event.fields.seriesMasterId,
  singleValueExtendedProperties: Schema.optional(Schema.Array(Schema.Unknown))
})
const decodeListed = Schema.decodeUnknownEither(Listed)
const decodeProperty = Schema.decodeUnknownOption(GraphCodec.ExtendedProperty)

const Page = Schema.Struct({
  value: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] }),
  "@odata.nextLink": Schema.optional(Schema.String),
  "@odata.deltaLink": Schema.optional(Schema.String)
})

const MeBody = Schema.Struct({
  id: Schema.String,
  mail: Schema.optional(Schema.NullOr(Schema.String)),
  userPrincipalName: Schema.String,
  displayName: Schema.optional(Schema.NullOr(Schema.String))
})

const CalendarBody = Schema.Struct({
  id: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  canEdit: Schema.optional(Schema.Boolean),
  isDefaultCalendar: Schema.optional(Schema.Boolean),
  owner: Schema.optional(
    Schema.NullOr(Schema.Struct({ address: Schema.optional(Schema.NullOr(Schema.String)) }))
  )
})

const SubscriptionBody = Schema.Struct({ id: Schema.String, expirationDateTime: Schema.String })

const ScheduleBody = Schema.Struct({
  value: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        scheduleId: Schema.String,
        availabilityView: Schema.optional(Schema.String),
        scheduleItems: Schema.optionalWith(
          Schema.Array(
            Schema.Struct({
              status: Schema.String,
              start: GraphCodec.DateTimeTimeZone,
              end: GraphCodec.DateTimeTimeZone
            })
          ),
          { default: () => [] }
        ),
        error: Schema.optional(
          Schema.NullOr(
            Schema.Struct({
              message: Schema.optional(Schema.String),
              responseCode: Schema.optional(Schema.String)
            })
          )
        )
      })
    ),
    { default: () => [] }
  )
})

type Answer = BearerExchange.Answer

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
const retryAfterMillis = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

const isRecord = (u: unknown): u is EventJson => typeof u === "object" && u !== null && !Array.isArray(u)

const EVENT_TYPES: ReadonlyArray<EventType> = ["singleInstance", "occurrence", "exception", "seriesMaster"]
const RESET_CODES = new Set(["syncstatenotfound", "resyncrequired"])

/** Every request: immutable ids and UTC times (docs/providers.md B.2, B.3). */
const PREFER = 'IdType="ImmutableId", outlook.timezone="UTC"'

/** A `dateTime` Graph answered in UTC (we ask for UTC on every request). */
const utcInstant = (t: GraphCodec.DateTimeTimeZone): Date | undefined => {
  const zone = (t.timeZone ?? "UTC").toUpperCase()
  if (zone !== "UTC" && zone !== "ETC/UTC") return undefined
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?$/.exec(t.dateTime)
  if (m === null) return undefined
  const d = new Date(`${m[1]}Z`)
  return Number.isNaN(d.getTime()) ? undefined : d
}

/** An OData string literal: single quotes doubled. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`

const expandParam = (propertyId: string) =>
  `singleValueExtendedProperties($filter=id eq ${literal(propertyId)})`

type Kind = "read" | "delta" | "write"
type Method = "GET" | "POST" | "PATCH" | "DELETE"

// ---------------------------------------------------------------------------------------------

export const make = (
  options: ClientOptions
): Effect.Effect<GraphCalendarClientShape, EndpointRefused, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const base = yield* checkEndpoint("ALMANAC_GRAPH_URL", options.apiUrl ?? DEFAULT_API_URL)
    const root = base.url.href.replace(/\/+$/, "")
    const http = yield* HttpClient.HttpClient
    // One mailbox, one client: the permits are Outlook's per-mailbox concurrency (module comment).
    const permits = yield* Effect.makeSemaphore(MAILBOX_CONCURRENCY)
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const maxWait = Duration.toMillis(Duration.decode(options.maxRetryAfter ?? Duration.seconds(30)))
    const attempts = Math.max(1, options.attempts ?? 3)
    const pageSize = String(Math.max(1, Math.min(1000, options.pageSize ?? 100)))
    const account = options.account
    const exchange = yield* BearerExchange.make({
      http,
      tokens: options.tokens,
      timeout,
      account,
      service: "Microsoft Graph",
      around: permits.withPermits(1)
    })
    const { authorized, transient } = exchange

    /**
     * 429 and 503 are sent again after Retry-After (or 1 s, 2 s, … without one) while the wait is
     * at most `maxRetryAfter`; a longer wait is the caller's (RateLimited carries it), so a poll
     * never holds a fiber for minutes. Graph counts throttled requests too (B.6): no early retry.
     */
    const send = (
      method: Method,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {}
    ): Effect.Effect<Answer, ProviderError.Transient | ProviderError.Unauthorized> =>
      Effect.gen(function* () {
        const all = { prefer: PREFER, ...headers }
        for (let attempt = 1; ; attempt++) {
          const a = yield* authorized(method, url, body, all)
          if ((a.status !== 429 && a.status !== 503) || attempt >= attempts) return a
          const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
          const wait = retryAfterMillis(a.headers["retry-after"], now) ?? 1000 * 2 ** (attempt - 1)
          if (wait > maxWait) return a
          yield* Effect.sleep(Duration.millis(wait))
        }
      })

    const classify = (kind: Kind, ref: string, a: Answer): Effect.Effect<never, ClientError> => {
      const parsed = decodeErrorBody(a.body)
      const code = Option.getOrUndefined(Option.flatMapNullable(parsed, (b) => b.error.code))
      const message = Option.getOrElse(
        Option.flatMapNullable(parsed, (b) => b.error.message),
        () => a.body.slice(0, 200)
      )
      const detail = `Microsoft Graph answered ${a.status}${code === undefined ? "" : ` ${code}`}: ${message}`
      if (a.status === 429) {
        const wait = retryAfterMillis(a.headers["retry-after"], Date.now())
        return Effect.fail(
          new ProviderError.RateLimited(
            wait === undefined ? { calendar: account } : { calendar: account, retryAfterMillis: wait }
          )
        )
      }
      if (a.status >= 500) return Effect.fail(transient(detail))
      if (
        kind === "delta" &&
        (a.status === 410 || (code !== undefined && RESET_CODES.has(code.toLowerCase())))
      )
        return Effect.fail(new ProviderError.TokenInvalid({ calendar: account, detail }))
      if (a.status === 412) return Effect.fail(new ProviderError.EtagMismatch({ ref }))
      if (a.status === 404 && kind !== "delta") return Effect.fail(new ProviderError.NotFound({ ref }))
      // A read refused for its parameters or rights cannot go on; the poll backs off and says why.
      if (kind !== "write") return Effect.fail(transient(detail))
      return Effect.fail(new ProviderError.Rejected({ ref, detail }))
    }

    const expect = (kind: Kind, ref: string, a: Answer): Effect.Effect<Answer, ClientError> =>
      a.status >= 200 && a.status < 300 ? Effect.succeed(a) : classify(kind, ref, a)

    const json = <A, I>(
      schema: Schema.Schema<A, I>,
      what: string,
      a: Answer
    ): Effect.Effect<A, ProviderError.Transient> =>
      Either.match(Schema.decodeUnknownEither(Schema.parseJson(schema))(a.body), {
        onLeft: () => Effect.fail(transient(`Microsoft Graph's answer to ${what} could not be read`)),
        onRight: Effect.succeed
      })

    const subscriptionOf = (a: Answer) =>
      Effect.flatMap(json(SubscriptionBody, "a subscription", a), (b) => {
        const expiration = Date.parse(b.expirationDateTime)
        return Number.isNaN(expiration)
          ? Effect.fail(transient("Microsoft Graph answered a subscription with no expiration time"))
          : Effect.succeed({ id: b.id, expiration })
      })

    const sameProperty = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase()

    const item = (
      what: string,
      u: unknown,
      expandProperty: string | undefined
    ): Effect.Effect<EventItem, ProviderError.Transient> =>
      Either.match(decodeListed(u), {
        onLeft: () => Effect.fail(transient(`an event in Microsoft Graph's answer to ${what} has no id`)),
        onRight: (e) => {
          if (!isRecord(u))
            return Effect.fail(transient(`an event in Microsoft Graph's answer to ${what} is no object`))
          const property =
            expandProperty === undefined
              ? Option.none()
              : Option.fromNullable(
                  (e.singleValueExtendedProperties ?? [])
                    .flatMap((p) => Option.toArray(decodeProperty(p)))
                    .find((p) => sameProperty(p.id, expandProperty))?.value
                )
          return Effect.succeed({
            id: e.id,
            etag: e["@odata.etag"] ?? "",
            type: Option.fromNullable(EVENT_TYPES.find((t) => t === e.type)),
            seriesMasterId: Option.fromNullable(e.seriesMasterId),
            extendedProperty: property,
            json: u
          })
        }
      })

    const calendarUrl = (calendarId: string) => `${root}/me/calendars/${encodeURIComponent(calendarId)}`
    const eventUrl = (calendarId: string, eventId: string) =>
      `${calendarUrl(calendarId)}/events/${encodeURIComponent(eventId)}`

    const withQuery = (url: string, params: Record<string, string | undefined>) => {
      const u = new URL(url)
      for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v)
      return u.href
    }

    const PAGED = { prefer: `${PREFER}, odata.maxpagesize=${pageSize}` }

    /** A link Graph handed us, followed only where the API lives: a token is never sent elsewhere. */
    const ownLink = (link: string): boolean => {
      try {
        const u = new URL(link)
        return u.origin === base.url.origin && u.pathname.startsWith(base.url.pathname.replace(/\/+$/, ""))
      } catch {
        return false
      }
    }

    /** Every page of a collection, following @odata.nextLink. */
    const collect = (what: string, ref: string, first: string, expandProperty: string | undefined) =>
      Effect.gen(function* () {
        const out: Array<EventItem> = []
        let url: string | undefined = first
        while (url !== undefined) {
          if (!ownLink(url))
            return yield* transient(`Microsoft Graph's next page of ${what} is not on the API`)
          const a: Answer = yield* send("GET", url, undefined, PAGED).pipe(
            Effect.flatMap((a) => expect("read", ref, a))
          )
          const page: typeof Page.Type = yield* json(Page, what, a)
          for (const u of page.value) out.push(yield* item(what, u, expandProperty))
          url = page["@odata.nextLink"]
        }
        return out
      })

    const one = (kind: Kind, ref: string, what: string, expandProperty: string | undefined) => (a: Answer) =>
      expect(kind, ref, a).pipe(
        Effect.flatMap((ok) => json(Schema.Unknown, what, ok)),
        Effect.flatMap((u) => item(what, u, expandProperty))
      )

    const me = Effect.gen(function* () {
      const a = yield* send("GET", `${root}/me`).pipe(Effect.flatMap((a) => expect("read", "me", a)))
      const b = yield* json(MeBody, "/me", a)
      return {
        id: b.id,
        mail: Option.fromNullable(b.mail),
        userPrincipalName: b.userPrincipalName,
        displayName: Option.fromNullable(b.displayName)
      }
    })

    const listCalendars = Effect.gen(function* () {
      const out: Array<CalendarEntry> = []
      let url: string | undefined = `${root}/me/calendars`
      while (url !== undefined) {
        if (!ownLink(url))
          return yield* transient("Microsoft Graph's next page of calendars is not on the API")
        const a: Answer = yield* send("GET", url, undefined, PAGED).pipe(
          Effect.flatMap((a) => expect("read", "calendars", a))
        )
        const page: typeof Page.Type = yield* json(Page, "/me/calendars", a)
        for (const u of page.value) {
          const c = yield* Either.match(Schema.decodeUnknownEither(CalendarBody)(u), {
            onLeft: () => Effect.fail(transient("a calendar in Microsoft Graph's answer has no id")),
            onRight: Effect.succeed
          })
          out.push({
            id: c.id,
            name: c.name ?? c.id,
            canEdit: c.canEdit === true,
            isDefaultCalendar: c.isDefaultCalendar === true,
            owner: Option.fromNullable(c.owner?.address)
          })
        }
        url = page["@odata.nextLink"]
      }
      return out
    })

    const deltaPage = (calendarId: string, from: DeltaFrom): Effect.Effect<DeltaPage, ClientError> =>
      Effect.gen(function* () {
        let url: string
        if (from._tag === "Window") {
          url = withQuery(`${calendarUrl(calendarId)}/calendarView/delta`, {
            startDateTime: from.window.start.toISOString(),
            endDateTime: from.window.end.toISOString()
          })
        } else {
          // A stored cursor that is not Graph's is no cursor: start over (and send no token there).
          if (!ownLink(from.link))
            return yield* new ProviderError.TokenInvalid({
              calendar: account,
              detail: "the stored delta link is not on the Microsoft Graph API"
            })
          url = from.link
        }
        const a = yield* send("GET", url, undefined, PAGED).pipe(
          Effect.flatMap((a) => expect("delta", calendarId, a))
        )
        const page = yield* json(Page, "calendarView/delta", a)
        const entries: Array<DeltaEntry> = []
        for (const u of page.value) {
          const removed = Either.getOrUndefined(decodeListed(u))
          if (removed?.["@removed"] !== undefined) {
            entries.push({ _tag: "Removed", id: removed.id, reason: removed["@removed"].reason ?? "deleted" })
            continue
          }
          entries.push({ _tag: "Changed", item: yield* item("calendarView/delta", u, undefined) })
        }
        const next = page["@odata.nextLink"]
        const delta = page["@odata.deltaLink"]
        if (next !== undefined) return { entries, next: { _tag: "Next", link: next } }
        if (delta !== undefined) return { entries, next: { _tag: "Delta", link: delta } }
        return yield* transient("Microsoft Graph's delta page has neither a next link nor a delta link")
      })

    const deltaRound = (calendarId: string, from: DeltaFrom): Effect.Effect<DeltaRound, ClientError> =>
      Effect.gen(function* () {
        const entries: Array<DeltaEntry> = []
        let at: DeltaFrom = from
        for (;;) {
          const page = yield* deltaPage(calendarId, at)
          entries.push(...page.entries)
          if (page.next._tag === "Delta") return { entries, deltaLink: page.next.link }
          at = { _tag: "Link", link: page.next.link }
        }
      })

    const ifMatchHeader = (ifMatch: Option.Option<string>): Record<string, string> =>
      Option.match(ifMatch, { onNone: () => ({}), onSome: (etag) => ({ "if-match": etag }) })

    return {
      me,
      listCalendars,
      deltaPage,
      deltaRound,
      getEvent: (calendarId, eventId, opts) =>
        send(
          "GET",
          withQuery(eventUrl(calendarId, eventId), {
            $expand: opts?.expandProperty === undefined ? undefined : expandParam(opts.expandProperty)
          })
        ).pipe(Effect.flatMap(one("read", eventId, "GET event", opts?.expandProperty))),
      instances: (calendarId, masterId, window, opts) =>
        collect(
          "instances",
          masterId,
          withQuery(`${eventUrl(calendarId, masterId)}/instances`, {
            startDateTime: window.start.toISOString(),
            endDateTime: window.end.toISOString(),
            $expand: opts?.expandProperty === undefined ? undefined : expandParam(opts.expandProperty)
          }),
          opts?.expandProperty
        ),
      findByExtendedProperty: (calendarId, propertyId, value) =>
        collect(
          "events",
          calendarId,
          withQuery(`${calendarUrl(calendarId)}/events`, {
            $filter: `singleValueExtendedProperties/any(ep: ep/id eq ${literal(propertyId)} and ep/value eq ${literal(value)})`,
            $expand: expandParam(propertyId)
          }),
          propertyId
        ),
      createEvent: (calendarId, event, opts) =>
        send(
          "POST",
          withQuery(`${calendarUrl(calendarId)}/events`, {
            $expand: opts?.expandProperty === undefined ? undefined : expandParam(opts.expandProperty)
          }),
          { ...event.event, transactionId: event.transactionId }
        ).pipe(Effect.flatMap(one("write", event.transactionId, "POST event", opts?.expandProperty))),
      updateEvent: (calendarId, eventId, fields, ifMatch) =>
        send("PATCH", eventUrl(calendarId, eventId), fields, ifMatchHeader(ifMatch)).pipe(
          Effect.flatMap(one("write", eventId, "PATCH event", undefined))
        ),
      deleteEvent: (calendarId, eventId, ifMatch) =>
        send("DELETE", eventUrl(calendarId, eventId), undefined, ifMatchHeader(ifMatch)).pipe(
          // Gone already is what a delete wants.
          Effect.flatMap((a) => (a.status === 404 ? Effect.void : Effect.asVoid(expect("write", eventId, a))))
        ),
      getSchedule: (query) =>
        Effect.gen(function* () {
          const wall = (d: Date) => d.toISOString().slice(0, 19)
          const a = yield* send("POST", `${root}/me/calendar/getSchedule`, {
            schedules: query.schedules,
            startTime: { dateTime: wall(query.window.start), timeZone: "UTC" },
            endTime: { dateTime: wall(query.window.end), timeZone: "UTC" },
            availabilityViewInterval: Math.max(5, Math.min(1440, query.intervalMinutes ?? 30))
          }).pipe(Effect.flatMap((a) => expect("read", "getSchedule", a)))
          const body = yield* json(ScheduleBody, "getSchedule", a)
          const out: Array<Schedule> = []
          for (const s of body.value) {
            const items: Array<ScheduleItem> = []
            for (const i of s.scheduleItems) {
              const start = utcInstant(i.start)
              const end = utcInstant(i.end)
              if (start === undefined || end === undefined)
                return yield* transient("Microsoft Graph's schedule has a time that is not a UTC time")
              items.push({ status: i.status, start, end })
            }
            out.push({
              scheduleId: s.scheduleId,
              availabilityView: s.availabilityView ?? "",
              items,
              error: Option.fromNullable(s.error?.responseCode ?? s.error?.message)
            })
          }
          return out
        }),
      subscribe: (subscription) =>
        Effect.gen(function* () {
          const a = yield* send("POST", `${root}/subscriptions`, {
            changeType: "created,updated,deleted",
            notificationUrl: subscription.notificationUrl,
            lifecycleNotificationUrl: subscription.lifecycleNotificationUrl,
            resource: "me/events",
            expirationDateTime: subscription.expiration.toISOString(),
            clientState: Redacted.value(subscription.clientState)
          }).pipe(Effect.flatMap((a) => expect("write", "subscription", a)))
          return yield* subscriptionOf(a)
        }),
      renewSubscription: (id, expiration) =>
        send("PATCH", `${root}/subscriptions/${encodeURIComponent(id)}`, {
          expirationDateTime: expiration.toISOString()
        }).pipe(
          Effect.flatMap((a) => expect("write", id, a)),
          Effect.flatMap(subscriptionOf)
        ),
      deleteSubscription: (id) =>
        send("DELETE", `${root}/subscriptions/${encodeURIComponent(id)}`).pipe(
          Effect.flatMap((a) => (a.status === 404 ? Effect.void : Effect.asVoid(expect("write", id, a))))
        ),
      stats: exchange.stats
    }
  })

export const layer = (
  options: ClientOptions
): Layer.Layer<GraphCalendarClient, EndpointRefused, HttpClient.HttpClient> =>
  Layer.effect(GraphCalendarClient, make(options))

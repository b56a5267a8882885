/**
 * A typed client of Google Calendar API v3 for one account, over @effect/platform's HttpClient.
 * It speaks Google's ids, etags and event JSON; it knows nothing of sync. Google's answers are
 * mapped to the engine's errors here, once (docs/providers.md A.2–A.5, A.10, A.13):
 *
 * 401 → the token source refreshes once and the request is sent again; a second 401 is
 * `Unauthorized`. 403 `rateLimitExceeded`/`userRateLimitExceeded`/`quotaExceeded` and 429 are
 * `RateLimited` (with Retry-After when Google sent one); other 403s `Rejected`. 404 `NotFound`.
 * 409 on insert `AlreadyExists`. 410 on a list with a sync token `TokenInvalid`, on a delete
 * success. 412 `EtagMismatch`. 5xx, timeouts and unreadable answers `Transient`.
 *
 * Every write carries `sendUpdates=none`: Almanac never has Google send an invitation or update.
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
import type * as GoogleCodec from "./GoogleCodec.js"
import * as BearerExchange from "./internal/BearerExchange.js"
import { AlreadyExists } from "./internal/google/Port.js"
import { checkEndpoint, type EndpointRefused } from "./OAuth2.js"
import type { TokenSourceShape } from "./OAuthTokenSource.js"

export const DEFAULT_API_URL = "https://www.googleapis.com/calendar/v3"

export { AlreadyExists }

export type ClientError =
  | ProviderError.TokenInvalid
  | ProviderError.EtagMismatch
  | ProviderError.Unauthorized
  | ProviderError.RateLimited
  | ProviderError.Transient
  | ProviderError.NotFound
  | ProviderError.Rejected
  | AlreadyExists

export interface CalendarEntry {
  readonly id: string
  readonly summary: string
  readonly timeZone: string
  readonly accessRole: string
  readonly primary: boolean
  /** owner or writer: events can be written. */
  readonly writable: boolean
}

/** One listed event, with just what listing needs; `json` is the whole resource for the codec. */
export interface EventItem {
  readonly id: string
  readonly etag: string
  readonly status: Option.Option<string>
  readonly recurringEventId: Option.Option<string>
  readonly iCalUID: Option.Option<string>
  readonly recurring: boolean
  readonly json: unknown
}

export interface Listing {
  readonly items: ReadonlyArray<EventItem>
  readonly nextSyncToken: Option.Option<string>
}

export interface BusyBlock {
  readonly start: Date
  readonly end: Date
}

export interface FreeBusyAnswer {
  readonly busy: ReadonlyArray<BusyBlock>
  readonly errors: ReadonlyArray<string>
}

export type ExchangeStats = BearerExchange.ExchangeStats

export interface GoogleCalendarClientShape {
  /** Every calendar of the account, all pages. */
  readonly calendarList: Effect.Effect<ReadonlyArray<CalendarEntry>, ClientError>
  /** A full listing (singleEvents=false) to the last page; `nextSyncToken` is the last page's. */
  readonly listAll: (calendarId: string) => Effect.Effect<Listing, ClientError>
  /** The members of one series (master, exceptions, cancelled instances), by the UID they share. */
  readonly listByUid: (
    calendarId: string,
    iCalUID: string
  ) => Effect.Effect<ReadonlyArray<EventItem>, ClientError>
  /** What changed since `syncToken`, to the last page; 410 is `TokenInvalid`. */
  readonly listChanges: (
    calendarId: string,
    syncToken: string
  ) => Effect.Effect<Listing & { readonly nextSyncToken: Option.Option<string> }, ClientError>
  readonly get: (calendarId: string, eventId: string) => Effect.Effect<EventItem, ClientError>
  /** With the client-chosen `event.id`; 409 duplicate is `AlreadyExists`. */
  readonly insert: (calendarId: string, event: GoogleCodec.Event) => Effect.Effect<EventItem, ClientError>
  /** PUT (full replace), with If-Match when an etag is given. Also creates an exception under an instance id. */
  readonly update: (
    calendarId: string,
    eventId: string,
    event: GoogleCodec.Event,
    ifMatch: Option.Option<string>
  ) => Effect.Effect<EventItem, ClientError>
  /** PATCH (merge), with If-Match when an etag is given. */
  readonly patch: (
    calendarId: string,
    eventId: string,
    fields: Partial<GoogleCodec.Event>,
    ifMatch: Option.Option<string>
  ) => Effect.Effect<EventItem, ClientError>
  /** DELETE with If-Match when an etag is given; an event already deleted (410) is success. */
  readonly remove: (
    calendarId: string,
    eventId: string,
    ifMatch: Option.Option<string>
  ) => Effect.Effect<void, ClientError>
  readonly freeBusy: (query: {
    readonly timeMin: Date
    readonly timeMax: Date
    readonly calendars: ReadonlyArray<string>
  }) => Effect.Effect<ReadonlyMap<string, FreeBusyAnswer>, ClientError>
  /**
   * Opens a push channel on the calendar's events (`events.watch`, type web_hook): Google then
   * POSTs to `address` after changes, echoing `token` in X-Goog-Channel-Token. The address must be
   * https (Google's rule).
   */
  readonly watch: (
    calendarId: string,
    channel: {
      readonly id: string
      readonly address: string
      readonly token: Redacted.Redacted<string>
      readonly ttlSeconds?: number | undefined
    }
  ) => Effect.Effect<Channel, ClientError>
  /** `channels.stop`: no more messages on this channel. */
  readonly stopChannel: (channel: Pick<Channel, "id" | "resourceId">) => Effect.Effect<void, ClientError>
  readonly stats: Effect.Effect<ExchangeStats>
}

export interface Channel {
  readonly id: string
  readonly resourceId: string
  /** Epoch milliseconds; renew before. */
  readonly expiration: number
}

export class GoogleCalendarClient extends Context.Tag("@almanac/providers/GoogleCalendarClient")<
  GoogleCalendarClient,
  GoogleCalendarClientShape
>() {}

export interface ClientOptions {
  readonly tokens: TokenSourceShape
  /** The API base including its version path (default https://www.googleapis.com/calendar/v3). */
  readonly apiUrl?: string | undefined
  /** Per HTTP exchange, body included (default 30 s). */
  readonly timeout?: Duration.DurationInput | undefined
  /** events.list page size asked for (default 2500, Google's largest). */
  readonly pageSize?: number | undefined
  /** Names the account in errors. */
  readonly account: string
}

// ---------------------------------------------------------------------------------------------
// answers

const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.optional(Schema.Number),
    message: Schema.optional(Schema.String),
    errors: Schema.optional(
      Schema.Array(
        Schema.Struct({ reason: Schema.optional(Schema.String), message: Schema.optional(Schema.String) })
      )
    )
  })
})
const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))

const ListedEvent = Schema.Struct({
  id: Schema.String,
  etag: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  recurringEventId: Schema.optional(Schema.String),
  iCalUID: Schema.optional(Schema.String),
  recurrence: Schema.optional(Schema.Array(Schema.Unknown))
})
const decodeListed = Schema.decodeUnknownEither(ListedEvent)

const EventsPage = Schema.Struct({
  items: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] }),
  nextPageToken: Schema.optional(Schema.String),
  nextSyncToken: Schema.optional(Schema.String)
})

const CalendarListPage = Schema.Struct({
  items: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        id: Schema.String,
        summary: Schema.optional(Schema.String),
        summaryOverride: Schema.optional(Schema.String),
        timeZone: Schema.optional(Schema.String),
        accessRole: Schema.String,
        primary: Schema.optional(Schema.Boolean),
        deleted: Schema.optional(Schema.Boolean)
      })
    ),
    { default: () => [] }
  ),
  nextPageToken: Schema.optional(Schema.String)
})

const FreeBusyBody = Schema.Struct({
  calendars: Schema.optionalWith(
    Schema.Record({
      key: Schema.String,
      value: Schema.Struct({
        busy: Schema.optionalWith(Schema.Array(Schema.Struct({ start: Schema.String, end: Schema.String })), {
          default: () => []
        }),
        errors: Schema.optionalWith(Schema.Array(Schema.Struct({ reason: Schema.optional(Schema.String) })), {
          default: () => []
        })
      })
    }),
    { default: () => ({}) }
  )
})

const ChannelBody = Schema.Struct({
  id: Schema.String,
  resourceId: Schema.String,
  expiration: Schema.optional(Schema.Union(Schema.String, Schema.Number))
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

const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"])

type Kind = "list" | "sync" | "get" | "insert" | "write" | "delete"

// ---------------------------------------------------------------------------------------------

export const make = (
  options: ClientOptions
): Effect.Effect<GoogleCalendarClientShape, EndpointRefused, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const base = yield* checkEndpoint("ALMANAC_GOOGLE_API_URL", options.apiUrl ?? DEFAULT_API_URL)
    const root = base.url.href.replace(/\/+$/, "")
    const http = yield* HttpClient.HttpClient
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const pageSize = String(Math.max(1, Math.min(2500, options.pageSize ?? 2500)))
    const account = options.account
    const exchange = yield* BearerExchange.make({
      http,
      tokens: options.tokens,
      timeout,
      account,
      service: "Google"
    })
    const { transient } = exchange
    const send = (
      method: BearerExchange.Method,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {}
    ) => exchange.authorized(method, url, body, headers)

    const classify = (kind: Kind, ref: string, a: Answer): Effect.Effect<never, ClientError> => {
      const parsed = decodeErrorBody(a.body)
      const reason = Option.getOrUndefined(Option.flatMapNullable(parsed, (b) => b.error.errors?.[0]?.reason))
      const message = Option.getOrElse(
        Option.flatMapNullable(parsed, (b) => b.error.message),
        () => a.body.slice(0, 200)
      )
      const detail = `Google answered ${a.status}${reason === undefined ? "" : ` ${reason}`}: ${message}`
      const isPoll = kind === "list" || kind === "sync" || kind === "get"
      if (a.status === 429 || (a.status === 403 && reason !== undefined && RATE_REASONS.has(reason))) {
        const wait = retryAfterMillis(a.headers["retry-after"], Date.now())
        return Effect.fail(
          new ProviderError.RateLimited(
            wait === undefined ? { calendar: account } : { calendar: account, retryAfterMillis: wait }
          )
        )
      }
      if (a.status >= 500) return Effect.fail(transient(detail))
      if (a.status === 410 && kind === "sync")
        return Effect.fail(new ProviderError.TokenInvalid({ calendar: account, detail }))
      if (a.status === 404 && kind !== "list" && kind !== "sync")
        return Effect.fail(new ProviderError.NotFound({ ref: ref }))
      if (a.status === 410 && kind !== "list") return Effect.fail(new ProviderError.NotFound({ ref: ref }))
      if (a.status === 412) return Effect.fail(new ProviderError.EtagMismatch({ ref: ref }))
      if (a.status === 409 && kind === "insert") return Effect.fail(new AlreadyExists({ ref }))
      // A listing refused for its parameters or rights cannot go on; the poll backs off and says why.
      if (isPoll) return Effect.fail(transient(detail))
      return Effect.fail(new ProviderError.Rejected({ ref: ref, detail }))
    }

    const expect = (kind: Kind, ref: string, a: Answer): Effect.Effect<Answer, ClientError> =>
      a.status >= 200 && a.status < 300 ? Effect.succeed(a) : classify(kind, ref, a)

    const json = <A, I>(
      schema: Schema.Schema<A, I>,
      what: string,
      a: Answer
    ): Effect.Effect<A, ProviderError.Transient> =>
      Either.match(Schema.decodeUnknownEither(Schema.parseJson(schema))(a.body), {
        onLeft: () => Effect.fail(transient(`Google's answer to ${what} could not be read`)),
        onRight: Effect.succeed
      })

    const item = (what: string, u: unknown): Effect.Effect<EventItem, ProviderError.Transient> =>
      Either.match(decodeListed(u), {
        onLeft: () => Effect.fail(transient(`an event in Google's answer to ${what} has no id`)),
        onRight: (e) =>
          Effect.succeed({
            id: e.id,
            etag: e.etag ?? "",
            status: Option.fromNullable(e.status),
            recurringEventId: Option.fromNullable(e.recurringEventId),
            iCalUID: Option.fromNullable(e.iCalUID),
            recurring: (e.recurrence?.length ?? 0) > 0,
            json: u
          })
      })

    const eventsUrl = (calendarId: string, eventId?: string) =>
      `${root}/calendars/${encodeURIComponent(calendarId)}/events${eventId === undefined ? "" : `/${encodeURIComponent(eventId)}`}`

    const withQuery = (url: string, params: Record<string, string>) => {
      const u = new URL(url)
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
      return u.href
    }

    /** Every page of one events.list, following nextPageToken; the sync token only from the last. */
    const pages = (kind: "list" | "sync", calendarId: string, params: Record<string, string>) =>
      Effect.gen(function* () {
        const items: Array<EventItem> = []
        let pageToken: string | undefined
        let nextSyncToken: Option.Option<string> = Option.none()
        do {
          const url = withQuery(eventsUrl(calendarId), {
            ...params,
            ...(pageToken !== undefined ? { pageToken } : {})
          })
          const a = yield* send("GET", url).pipe(Effect.flatMap((a) => expect(kind, calendarId, a)))
          const page = yield* json(EventsPage, "events.list", a)
          for (const u of page.items) items.push(yield* item("events.list", u))
          pageToken = page.nextPageToken
          nextSyncToken = Option.fromNullable(page.nextSyncToken)
        } while (pageToken !== undefined)
        return { items, nextSyncToken }
      })

    // The same parameters on every list of a sync stream, as Google requires beside a sync token;
    // showDeleted is left to Google's defaults (a sync token always includes deletions).
    const streamParams = { singleEvents: "false", maxResults: pageSize }
    const WRITE = { sendUpdates: "none" }

    const calendarList = Effect.gen(function* () {
      const out: Array<CalendarEntry> = []
      let pageToken: string | undefined
      do {
        const url = withQuery(`${root}/users/me/calendarList`, {
          maxResults: "250",
          ...(pageToken !== undefined ? { pageToken } : {})
        })
        const a = yield* send("GET", url).pipe(Effect.flatMap((a) => expect("list", "calendarList", a)))
        const page = yield* json(CalendarListPage, "calendarList.list", a)
        for (const c of page.items) {
          if (c.deleted === true) continue
          out.push({
            id: c.id,
            summary: c.summaryOverride ?? c.summary ?? c.id,
            timeZone: c.timeZone ?? "UTC",
            accessRole: c.accessRole,
            primary: c.primary === true,
            writable: c.accessRole === "owner" || c.accessRole === "writer"
          })
        }
        pageToken = page.nextPageToken
      } while (pageToken !== undefined)
      return out
    })

    const one = (kind: Kind, ref: string, what: string) => (a: Answer) =>
      expect(kind, ref, a).pipe(
        Effect.flatMap((ok) => json(Schema.Unknown, what, ok)),
        Effect.flatMap((u) => item(what, u))
      )

    return {
      calendarList,
      listAll: (calendarId) => pages("list", calendarId, streamParams),
      listByUid: (calendarId, iCalUID) =>
        pages("list", calendarId, { singleEvents: "false", maxResults: pageSize, iCalUID }).pipe(
          Effect.map((l) => l.items)
        ),
      listChanges: (calendarId, syncToken) => pages("sync", calendarId, { ...streamParams, syncToken }),
      get: (calendarId, eventId) =>
        send("GET", eventsUrl(calendarId, eventId)).pipe(Effect.flatMap(one("get", eventId, "events.get"))),
      insert: (calendarId, event) =>
        send("POST", withQuery(eventsUrl(calendarId), WRITE), event).pipe(
          Effect.flatMap(one("insert", event.id, "events.insert"))
        ),
      update: (calendarId, eventId, event, ifMatch) =>
        send(
          "PUT",
          withQuery(eventsUrl(calendarId, eventId), WRITE),
          event,
          Option.match(ifMatch, { onNone: () => ({}), onSome: (etag) => ({ "if-match": etag }) })
        ).pipe(Effect.flatMap(one("write", eventId, "events.update"))),
      patch: (calendarId, eventId, fields, ifMatch) =>
        send(
          "PATCH",
          withQuery(eventsUrl(calendarId, eventId), WRITE),
          fields,
          Option.match(ifMatch, { onNone: () => ({}), onSome: (etag) => ({ "if-match": etag }) })
        ).pipe(Effect.flatMap(one("write", eventId, "events.patch"))),
      remove: (calendarId, eventId, ifMatch) =>
        send(
          "DELETE",
          withQuery(eventsUrl(calendarId, eventId), WRITE),
          undefined,
          Option.match(ifMatch, { onNone: () => ({}), onSome: (etag) => ({ "if-match": etag }) })
        ).pipe(
          Effect.flatMap((a) => {
            if (a.status === 410) return Effect.void
            return Effect.asVoid(expect("delete", eventId, a))
          })
        ),
      freeBusy: (query) =>
        Effect.gen(function* () {
          const a = yield* send("POST", `${root}/freeBusy`, {
            timeMin: query.timeMin.toISOString(),
            timeMax: query.timeMax.toISOString(),
            items: query.calendars.map((id) => ({ id }))
          }).pipe(Effect.flatMap((a) => expect("list", "freeBusy", a)))
          const body = yield* json(FreeBusyBody, "freeBusy.query", a)
          const out = new Map<string, FreeBusyAnswer>()
          for (const [id, c] of Object.entries(body.calendars)) {
            const busy: Array<BusyBlock> = []
            for (const b of c.busy) {
              const start = new Date(b.start)
              const end = new Date(b.end)
              if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
                return yield* transient("Google's free/busy answer has a time that is not one")
              busy.push({ start, end })
            }
            out.set(id, { busy, errors: c.errors.map((e) => e.reason ?? "unknown") })
          }
          return out
        }),
      watch: (calendarId, channel) =>
        Effect.gen(function* () {
          const a = yield* send("POST", `${eventsUrl(calendarId)}/watch`, {
            id: channel.id,
            type: "web_hook",
            address: channel.address,
            token: Redacted.value(channel.token),
            ...(channel.ttlSeconds !== undefined ? { params: { ttl: String(channel.ttlSeconds) } } : {})
          }).pipe(Effect.flatMap((a) => expect("write", channel.id, a)))
          const body = yield* json(ChannelBody, "events.watch", a)
          const expiration = Number(body.expiration ?? Number.NaN)
          return {
            id: body.id,
            resourceId: body.resourceId,
            expiration: Number.isFinite(expiration) ? expiration : 0
          }
        }),
      stopChannel: (channel) =>
        send("POST", `${root}/channels/stop`, { id: channel.id, resourceId: channel.resourceId }).pipe(
          Effect.flatMap((a) =>
            a.status === 404 ? Effect.void : Effect.asVoid(expect("write", channel.id, a))
          )
        ),
      stats: exchange.stats
    }
  })

export const layer = (
  options: ClientOptions
): Layer.Layer<GoogleCalendarClient, EndpointRefused, HttpClient.HttpClient> =>
  Layer.effect(GoogleCalendarClient, make(options))

/**
 * The provider port over one subscribed iCalendar feed (a published calendar, a holiday or sports
 * feed): read-only, a source of one-way syncs only.
 *
 * - Every listing is a Snapshot of the whole feed, one item per UID (a series is its master and
 *   its RECURRENCE-ID overrides); ref = the UID, version = a digest of that UID's text. A feed has
 *   no change log, so `deltas` is false: a Delta would need the cursor to carry every UID's
 *   version (unbounded, in the store) or the provider to remember the last feed across restarts,
 *   and the engine already works out what changed from a snapshot's versions and removes what a
 *   whole-scope snapshot no longer lists (behind its mass-delete stop).
 * - The cursor is the feed's validators (ETag, Last-Modified) and its content digest. A poll sends
 *   If-None-Match / If-Modified-Since from it: a 304 is Unchanged, one request and no body. A 200
 *   with the same content (a server that ignores the validators, or stamps every answer anew) is
 *   Unchanged too, or a Snapshot with the same versions when only the validators moved, so the
 *   next poll can be a 304.
 * - `fetch` answers from the feed as this provider last read it (the engine fetches right after a
 *   listing, in batches: one download serves them all), and reads it when it has not yet.
 * - One broken VEVENT is that UID's `Bad` item, never a failed feed. A body that is no iCalendar
 *   (an HTML sign-in page, an empty answer, a file cut before END:VCALENDAR) fails the poll with
 *   words a person can act on, and never reads as an empty calendar, which would delete every copy.
 * - Bounded: a feed above `maxBytes` (default 20 MiB) is refused while it streams; redirects are
 *   followed `maxRedirects` times (default 5), the caller's URL check before each hop.
 * - Writes fail with Rejected: the engine plans none for a read-only calendar, and the server
 *   refuses a feed as a target or in a two-way sync before it gets here.
 */
import { type CalendarProvider, type EventModel, ProviderError } from "@almanac/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as ICalCodec from "./ICalCodec.js"
import { FeedFailed } from "./internal/ics/FeedError.js"
import * as FeedHttp from "./internal/ics/FeedHttp.js"
import * as FeedText from "./internal/ics/FeedText.js"

export { FeedFailed, FeedReason } from "./internal/ics/FeedError.js"
export type { FeedAuth, UrlRefusal } from "./internal/ics/FeedHttp.js"
export { syntheticPrefix } from "./internal/ics/FeedText.js"

/** The largest feed read: 20 MiB. The largest public holiday and sports feeds are a few MB. */
export const defaultMaxBytes = 20 * 1024 * 1024
export const defaultMaxRedirects = 5

export interface Options {
  /** https:// (or http://), without user name or password: see `subscription`. */
  readonly url: URL
  /** HTTP Basic, sent only over https and only to the subscribed origin. */
  readonly auth?: FeedHttp.FeedAuth | undefined
  /** Per request, body included. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxBytes?: number | undefined
  readonly maxRedirects?: number | undefined
  /** Asked before every request, each redirect hop included (the server's UrlGuard). */
  readonly checkUrl?: ((url: URL) => Effect.Effect<void, FeedHttp.UrlRefusal>) | undefined
}

export const capabilities: CalendarProvider.Capabilities = {
  deltas: false,
  readOnly: true,
  scope: "whole",
  ids: "key"
}

// ---------------------------------------------------------------------------------------------
// the URL a person gives

export interface Subscription {
  readonly url: URL
  readonly auth: Option.Option<FeedHttp.FeedAuth>
}

/**
 * A feed URL as people copy it: `webcal://` (and `webcals://`) is https, `user:password@` becomes
 * HTTP Basic credentials (Redacted; only over https, where they are not sent in the clear), the
 * fragment is dropped. The URL it returns has no user-info and may be shown and stored.
 */
export const subscription = (text: string): Either.Either<Subscription, FeedFailed> => {
  const refuse = (url: string, detail: string) =>
    Either.left(new FeedFailed({ url, reason: "refused-url", detail }))
  const trimmed = text.trim().replace(/^webcals?:\/\//i, "https://")
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    // never echo what may hold a password
    return refuse("(not a URL)", "not an absolute URL; it should look like https://example.com/calendar.ics")
  }
  url.hash = ""
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return refuse(FeedHttp.shown(url), `a feed is read over https:// (or webcal://), not ${url.protocol}`)
  const user = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  url.username = ""
  url.password = ""
  if (user === "" && password === "") return Either.right({ url, auth: Option.none() })
  if (url.protocol !== "https:")
    return refuse(
      url.href,
      "the URL holds a user name or password, which over http:// would travel unencrypted; use https://"
    )
  return Either.right({ url, auth: Option.some({ user, password: Redacted.make(password) }) })
}

// ---------------------------------------------------------------------------------------------
// cursor

const CursorJson = Schema.parseJson(
  Schema.Struct({
    ics: Schema.Literal(1),
    etag: Schema.NullOr(Schema.String),
    lastModified: Schema.NullOr(Schema.String),
    digest: Schema.String
  })
)
type CursorData = typeof CursorJson.Type
const decodeCursor = Schema.decodeUnknownOption(CursorJson)
const encodeCursor = Schema.encodeSync(CursorJson)

const cursorOf = (validators: FeedHttp.Validators, digest: string): CalendarProvider.Cursor =>
  encodeCursor({
    ics: 1,
    etag: Option.getOrNull(validators.etag),
    lastModified: Option.getOrNull(validators.lastModified),
    digest
  })

const validatorsOf = (c: CursorData): FeedHttp.Validators => ({
  etag: Option.fromNullable(c.etag),
  lastModified: Option.fromNullable(c.lastModified)
})

// ---------------------------------------------------------------------------------------------

/** A feed as read once: what a subscription shows before it is stored. */
export interface FeedRead {
  readonly url: string
  readonly name: Option.Option<string>
  readonly items: ReadonlyArray<FeedText.FeedItem>
  readonly validators: FeedHttp.Validators
  readonly digest: string
}

export interface IcsFeedProvider extends CalendarProvider.CalendarProvider {
  /** The feed as read now, failures as data (for the server's subscribe step). */
  readonly read: Effect.Effect<FeedRead, FeedFailed>
  /** HTTP requests made, redirects included. */
  readonly stats: Effect.Effect<{ readonly requests: number }>
}

export const make = (options: Options): Effect.Effect<IcsFeedProvider, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* FeedHttp.make({
      url: options.url,
      auth: Option.fromNullable(options.auth),
      timeout: Duration.decode(options.timeout ?? Duration.seconds(30)),
      maxBytes: options.maxBytes ?? defaultMaxBytes,
      maxRedirects: options.maxRedirects ?? defaultMaxRedirects,
      checkUrl: Option.fromNullable(options.checkUrl)
    })
    const calendarRef = FeedHttp.shown(options.url)
    const last = yield* Ref.make(Option.none<FeedRead>())

    const asPoll = (e: FeedFailed): ProviderError.PollError => {
      switch (e.reason) {
        case "unauthorized":
          return new ProviderError.Unauthorized({ calendar: calendarRef, detail: e.detail })
        case "rate-limited":
          return new ProviderError.RateLimited(
            e.retryAfterMillis === undefined
              ? { calendar: calendarRef }
              : { calendar: calendarRef, retryAfterMillis: e.retryAfterMillis }
          )
        default:
          return new ProviderError.Transient({ calendar: calendarRef, detail: e.message })
      }
    }

    const parsed = (body: Extract<FeedHttp.Answer, { _tag: "Body" }>) =>
      Either.match(FeedText.parse(body.text), {
        onLeft: (detail) => Effect.fail(new FeedFailed({ url: body.url, reason: "not-icalendar", detail })),
        onRight: (feed) => {
          const read: FeedRead = {
            url: body.url,
            name: feed.name,
            items: feed.items,
            validators: body.validators,
            digest: feed.digest
          }
          return Effect.as(Ref.set(last, Option.some(read)), read)
        }
      })

    const read = Effect.flatMap(http.get(Option.none()), (answer) =>
      answer._tag === "Body"
        ? parsed(answer)
        : Effect.fail(
            new FeedFailed({
              url: calendarRef,
              reason: "http-status",
              detail: "the feed answered 304 Not Modified to a request that asked for it whole",
              status: 304
            })
          )
    )

    const snapshotOf = (r: FeedRead): Extract<CalendarProvider.Changes, { _tag: "Snapshot" }> => ({
      _tag: "Snapshot",
      items: r.items.map((i) => ({ ref: i.ref, version: i.version })),
      cursor: cursorOf(r.validators, r.digest),
      scope: { _tag: "Whole" }
    })

    const snapshot = Effect.map(read, snapshotOf).pipe(Effect.mapError(asPoll))

    const sameValidators = (a: FeedHttp.Validators, b: FeedHttp.Validators) =>
      Option.getEquivalence<string>((x, y) => x === y)(a.etag, b.etag) &&
      Option.getEquivalence<string>((x, y) => x === y)(a.lastModified, b.lastModified)

    const changes = (cursor: Option.Option<CalendarProvider.Cursor>) =>
      Effect.gen(function* () {
        if (Option.isNone(cursor)) return yield* snapshot
        const known = decodeCursor(cursor.value)
        if (Option.isNone(known))
          return yield* new ProviderError.TokenInvalid({
            calendar: calendarRef,
            detail: "not a cursor of an iCalendar feed"
          })
        const answer = yield* http.get(Option.some(validatorsOf(known.value))).pipe(Effect.mapError(asPoll))
        if (answer._tag === "NotModified") return { _tag: "Unchanged" } as const
        const now = yield* parsed(answer).pipe(Effect.mapError(asPoll))
        if (now.digest === known.value.digest && sameValidators(now.validators, validatorsOf(known.value)))
          return { _tag: "Unchanged" } as const
        return snapshotOf(now)
      })

    const fetch = (refs: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const cached = yield* Ref.get(last)
        const feed = Option.isSome(cached) ? cached.value : yield* read.pipe(Effect.mapError(asPoll))
        const byRef = new Map(feed.items.map((i) => [i.ref, i]))
        return refs.map((ref): CalendarProvider.Fetched => {
          const item = byRef.get(ref)
          if (item === undefined) return { _tag: "Missing", ref }
          if (Option.isSome(item.problem))
            return { _tag: "Bad", ref, version: item.version, reason: item.problem.value }
          return Either.match(ICalCodec.parseEither(item.text, { href: ref }), {
            onLeft: (bad): CalendarProvider.Fetched => ({
              _tag: "Bad",
              ref,
              version: item.version,
              reason: bad.reason
            }),
            onRight: (resource): CalendarProvider.Fetched => ({
              _tag: "Found",
              ref,
              version: item.version,
              resource
            })
          })
        })
      })

    const readOnly = (ref: string) =>
      Effect.fail(
        new ProviderError.Rejected({
          ref,
          detail: `${calendarRef} is a subscribed feed: it is read-only, and nothing is written to it`
        })
      )

    return {
      calendarRef,
      capabilities,
      changes,
      snapshot,
      fetch,
      create: (key: string, _resource: EventModel.EventResource) => readOnly(key),
      update: (ref: string, _version: string, _resource: EventModel.EventResource) => readOnly(ref),
      remove: (ref: string, _version: string) => readOnly(ref),
      normalize: ICalCodec.normalize,
      read,
      stats: Effect.map(http.requests, (requests) => ({ requests }))
    } satisfies IcsFeedProvider
  })

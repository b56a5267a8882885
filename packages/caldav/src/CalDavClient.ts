/**
 * A CalDAV/WebDAV client for one account. It speaks hrefs, etags and iCalendar text; it knows
 * nothing of sync. Every href it returns is absolute.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type CalDavError, NotFound, ProtocolError } from "./CalDavError.js"
import type { DiscoveryResult } from "./Discovery.js"
import * as Calendars from "./internal/calendars.js"
import { type Call, classify, conditionElements, ok, protocolError } from "./internal/classify.js"
import * as DiscoverySteps from "./internal/discovery.js"
import * as Exchange from "./internal/exchange.js"
import * as Multistatus from "./internal/multistatus.js"
import { type PropName, prop } from "./internal/props.js"
import * as Requests from "./internal/requests.js"
import * as Retry from "./internal/retry.js"
import * as Xml from "./internal/xml.js"

export { CalendarInfo, DiscoveryResult } from "./Discovery.js"
export type { UrlRefusal } from "./internal/exchange.js"

export interface BasicAuth {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

export interface ClientOptions {
  readonly auth?: BasicAuth | undefined
  /** Per HTTP exchange, body included. Default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** hrefs per calendar-multiget request. Default 100. */
  readonly multigetBatchSize?: number | undefined
  /** Largest response body accepted. Default 32 MiB. */
  readonly maxResponseBytes?: number | undefined
  /** Default 10. */
  readonly maxRedirects?: number | undefined
  /**
   * Asked before every request: the first, each redirect hop, and URLs a server names
   * (principal, calendar home). A refusal sends nothing and fails the request with a
   * `ProtocolError` whose reason starts "refused before connecting". A server acting for its users
   * refuses private addresses here, so that no answer can lead it into its own network.
   */
  readonly checkUrl?: ((url: URL) => Effect.Effect<void, Exchange.UrlRefusal>) | undefined
  /**
   * Retrying within a request after a reset, a timeout, a truncated answer, 408/429/500/502/503/504:
   * safe methods (GET, PROPFIND, REPORT) and conditional writes (If-Match / If-None-Match) only,
   * never an unconditional write or MKCALENDAR. Defaults: 3 attempts, backoff from 200 ms doubling
   * with full jitter, a Retry-After waited out up to 10 seconds (a longer one fails as RateLimited).
   */
  readonly retry?:
    | {
        readonly attempts?: number | undefined
        readonly baseDelay?: Duration.DurationInput | undefined
        readonly maxRetryAfter?: Duration.DurationInput | undefined
      }
    | undefined
}

const OptionalText = Schema.OptionFromNullOr(Schema.String)

export const CollectionState = Schema.Struct({
  ctag: OptionalText,
  syncToken: OptionalText
})
export interface CollectionState extends Schema.Schema.Type<typeof CollectionState> {}

export const ItemRef = Schema.Struct({
  href: Schema.String,
  /** As the server sent it, quotes included; "" when a server listed a member without one. */
  etag: Schema.String
})
export interface ItemRef extends Schema.Schema.Type<typeof ItemRef> {}

export const Item = Schema.Struct({
  href: Schema.String,
  etag: Schema.String,
  /** iCalendar text. */
  data: Schema.String
})
export interface Item extends Schema.Schema.Type<typeof Item> {}

export const SyncDelta = Schema.Struct({
  changed: Schema.Array(ItemRef),
  deleted: Schema.Array(Schema.String),
  token: Schema.String
})
export interface SyncDelta extends Schema.Schema.Type<typeof SyncDelta> {}

export const MultigetResult = Schema.Struct({
  found: Schema.Array(Item),
  /** Requested hrefs the server did not return: "not there now", which is not the same as deleted. */
  missing: Schema.Array(Schema.String)
})
export interface MultigetResult extends Schema.Schema.Type<typeof MultigetResult> {}

export type WritePrecondition =
  | { readonly _tag: "Create" }
  | { readonly _tag: "Update"; readonly etag: string }

export const Create: WritePrecondition = { _tag: "Create" }
export const Update = (etag: string): WritePrecondition => ({ _tag: "Update", etag })

export const ExchangeStats = Schema.Struct({
  requests: Schema.Number,
  /** Request bodies plus an estimate of request lines and headers. */
  bytesSent: Schema.Number,
  /** Response bodies plus an estimate of status lines and headers. */
  bytesReceived: Schema.Number
})
export interface ExchangeStats extends Schema.Schema.Type<typeof ExchangeStats> {}

export interface CalDavClientShape {
  /** From a server, principal, home or calendar URL to the event calendars of the account. */
  readonly discover: (url: string) => Effect.Effect<DiscoveryResult, CalDavError>
  /** getctag and sync-token of a collection in one PROPFIND Depth 0. */
  readonly collectionState: (calendarUrl: string) => Effect.Effect<CollectionState, CalDavError>
  /** sync-collection from `token` (everything without one), following truncated answers to the end. */
  readonly syncCollection: (
    calendarUrl: string,
    token: Option.Option<string>
  ) => Effect.Effect<SyncDelta, CalDavError>
  /** PROPFIND Depth 1 getetag: the members of a collection, for servers without sync-collection. */
  readonly listEtags: (calendarUrl: string) => Effect.Effect<ReadonlyArray<ItemRef>, CalDavError>
  /** calendar-multiget in bounded batches; a missing href is reported, never a failure of the rest. */
  readonly multiget: (
    calendarUrl: string,
    hrefs: ReadonlyArray<string>
  ) => Effect.Effect<MultigetResult, CalDavError>
  /** calendar-query for VEVENTs overlapping [start, end). Recurrences are not expanded. */
  readonly query: (
    calendarUrl: string,
    range: { readonly start: Date; readonly end: Date }
  ) => Effect.Effect<ReadonlyArray<Item>, CalDavError>
  readonly get: (href: string) => Effect.Effect<Item, CalDavError>
  /** Create (`If-None-Match: *`) or update (`If-Match`); returns the new etag. */
  readonly put: (
    href: string,
    data: string,
    precondition: WritePrecondition
  ) => Effect.Effect<{ readonly etag: string }, CalDavError>
  /** DELETE with `If-Match`. */
  readonly remove: (href: string, etag: string) => Effect.Effect<void, CalDavError>
  readonly mkcalendar: (
    url: string,
    props?: {
      readonly displayName?: string | undefined
      readonly components?: ReadonlyArray<string> | undefined
    }
  ) => Effect.Effect<void, CalDavError>
  /** Counts of every HTTP exchange this client made, redirects included. */
  readonly stats: Effect.Effect<ExchangeStats>
}

export class CalDavClient extends Context.Tag("@almanac/caldav/CalDavClient")<
  CalDavClient,
  CalDavClientShape
>() {}

// ---------------------------------------------------------------------------------------------

/** Path and query of an absolute URL, the form every server accepts inside `<href>`. */
const pathOf = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.pathname}${u.search}`
  } catch {
    return url
  }
}

const parentOf = (url: string): string => new URL(url.endsWith("/") ? ".." : ".", url).href

export const make = (
  options: ClientOptions
): Effect.Effect<CalDavClientShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const exchanger = yield* Exchange.make({
      credentials: Option.fromNullable(options.auth),
      timeout: Duration.decode(options.timeout ?? Duration.seconds(30)),
      maxBodyBytes: options.maxResponseBytes ?? Xml.defaultLimits.maxBytes,
      maxRedirects: options.maxRedirects ?? 10,
      checkUrl: Option.fromNullable(options.checkUrl),
      retry: {
        attempts: Math.max(1, Math.floor(options.retry?.attempts ?? Retry.defaultPolicy.attempts)),
        baseDelay: Duration.decode(options.retry?.baseDelay ?? Retry.defaultPolicy.baseDelay),
        maxRetryAfter: Duration.decode(options.retry?.maxRetryAfter ?? Retry.defaultPolicy.maxRetryAfter)
      }
    })
    const batchSize = Math.max(1, options.multigetBatchSize ?? 100)
    const limits: Xml.XmlLimits = {
      ...Xml.defaultLimits,
      maxBytes: options.maxResponseBytes ?? Xml.defaultLimits.maxBytes
    }

    /** Sends and insists on a 2xx; anything else becomes its typed error. */
    const send = (call: Call, request: Omit<Exchange.RawRequest, "method" | "url">) =>
      exchanger
        .send({
          method: call.method,
          url: call.url,
          // A 500 after a token is the token's rejection (classify), not worth asking again.
          ...(call.token === undefined ? {} : { answers: [500] }),
          ...request
        })
        .pipe(
          Effect.filterOrElse(
            (res) => ok(res.status),
            (res) => Effect.fail(classify(call, res))
          )
        )

    const multistatus = (call: Call, res: Exchange.RawResponse) => {
      if (DiscoverySteps.isHtml(res.headers["content-type"], res.body)) {
        return Effect.fail(protocolError(call, res, "an HTML page, not a CalDAV answer"))
      }
      if (res.status !== 207) {
        return Effect.fail(protocolError(call, res, `expected 207 Multi-Status, got ${res.status}`))
      }
      return Either.match(Multistatus.parse(res.body, res.url, limits), {
        onLeft: (reason) => Effect.fail(protocolError(call, res, reason)),
        onRight: Effect.succeed
      })
    }

    const propfind = (url: string, depth: "0" | "1", props: ReadonlyArray<PropName>, anchor?: string) => {
      const call: Call = { method: "PROPFIND", url }
      return send(call, { headers: { depth }, body: Requests.propfind(props), anchor }).pipe(
        Effect.flatMap((res) => Effect.map(multistatus(call, res), (ms) => ({ ms, res })))
      )
    }

    const report = (url: string, depth: "0" | "1", body: string, token?: string) => {
      const call: Call = { method: "REPORT", url, token }
      return send(call, { headers: { depth }, body }).pipe(
        Effect.flatMap((res) => Effect.map(multistatus(call, res), (ms) => ({ ms, res, call })))
      )
    }

    /** The row describing the requested resource itself: by URL, else the only row there is. */
    const selfRow = (ms: Multistatus.Multistatus, url: string, finalUrl: string) => {
      const keys = new Set([Multistatus.sameResourceKey(url), Multistatus.sameResourceKey(finalUrl)])
      return ms.responses.find((r) => keys.has(Multistatus.sameResourceKey(r.href))) ?? ms.responses[0]
    }

    const isSelf = (href: string, url: string, finalUrl: string) => {
      const k = Multistatus.sameResourceKey(href)
      return k === Multistatus.sameResourceKey(url) || k === Multistatus.sameResourceKey(finalUrl)
    }

    // --- discovery -----------------------------------------------------------------------------

    /** A PROPFIND asked with each property set in turn while the failure is one fewer properties may cure. */
    const propfindLeaning = (
      url: string,
      depth: "0" | "1",
      sets: ReadonlyArray<ReadonlyArray<PropName>>,
      anchor: string
    ): Effect.Effect<
      { readonly ms: Multistatus.Multistatus; readonly res: Exchange.RawResponse },
      CalDavError
    > => {
      const [first = [], ...rest] = sets
      return propfind(url, depth, first, anchor).pipe(
        Effect.catchIf(
          (e) => rest.length > 0 && DiscoverySteps.fewerMayHelp(e),
          () => propfindLeaning(url, depth, rest, anchor)
        )
      )
    }

    const discover = (url: string): Effect.Effect<DiscoveryResult, CalDavError> =>
      Effect.gen(function* () {
        const start = yield* Effect.try({
          try: () => new URL(url),
          catch: () =>
            new ProtocolError({
              method: "PROPFIND",
              url: Exchange.displayUrl(url),
              status: Option.none(),
              reason: "not an absolute URL"
            })
        })
        // RFC 6764: a bare server URL is where /.well-known/caldav is meant to be asked; servers
        // that do not offer it (404, HTML pages, a redirect to another domain, which gets no
        // credentials) are asked at the URL itself, then where common servers keep their DAV tree.
        const bare = start.pathname === "/" || start.pathname === ""
        const wellKnown = new URL("/.well-known/caldav", start).href
        const candidates = bare
          ? [wellKnown, url, ...DiscoverySteps.conventionalPaths.map((p) => new URL(p, start).href)]
          : [url]
        const tried: Array<string> = []
        let collection: Option.Option<{
          readonly ms: Multistatus.Multistatus
          readonly res: Exchange.RawResponse
          readonly at: string
        }> = Option.none()
        for (const candidate of candidates) {
          const answer = yield* propfindLeaning(candidate, "0", DiscoverySteps.entrySets, url).pipe(
            Effect.either
          )
          if (Either.isLeft(answer)) {
            const e = answer.left
            const passOver =
              DiscoverySteps.tryNext(e) || (candidate === wellKnown && e._tag === "Unauthorized")
            if (!passOver || candidates.length === 1) return yield* e
            tried.push(`${Exchange.displayUrl(candidate)} (${DiscoverySteps.outcome(e)})`)
            continue
          }
          const { ms, res } = answer.right
          const row = selfRow(ms, candidate, res.url)
          if (row === undefined) {
            tried.push(`${Exchange.displayUrl(candidate)} (a multistatus with no response)`)
            continue
          }
          const davAnswer =
            Calendars.isCalendar(row) ||
            Option.isSome(Calendars.hrefIn(row, Xml.DAV, "current-user-principal", res.url)) ||
            Option.isSome(Calendars.hrefIn(row, Xml.CALDAV, "calendar-home-set", res.url))
          if (davAnswer || candidates.length === 1) return yield* settle(candidate, ms, res, url)
          // A plain collection may be the home itself; it is used only if no candidate does better.
          if (Calendars.isCollection(row) && Option.isNone(collection))
            collection = Option.some({ ms, res, at: candidate })
          tried.push(`${Exchange.displayUrl(candidate)} (no principal, calendar home or calendar there)`)
        }
        if (Option.isSome(collection)) {
          const c = collection.value
          return yield* settle(c.at, c.ms, c.res, url)
        }
        return yield* new ProtocolError({
          method: "PROPFIND",
          url: Exchange.displayUrl(url),
          status: Option.none(),
          reason: `no CalDAV service found; tried ${tried.join(", ")}`
        })
      })

    /** From a resource that answered: its principal, home and calendars. */
    const settle = (
      asked: string,
      ms: Multistatus.Multistatus,
      res: Exchange.RawResponse,
      anchor: string
    ): Effect.Effect<DiscoveryResult, CalDavError> =>
      Effect.gen(function* () {
        const here = res.url
        const row = selfRow(ms, asked, here)
        if (row === undefined) {
          return yield* protocolError(
            { method: "PROPFIND", url: asked },
            res,
            "the multistatus has no response"
          )
        }
        const principal = Calendars.hrefIn(row, Xml.DAV, "current-user-principal", here)
        const homeOf = (principalUrl: string) =>
          propfindLeaning(principalUrl, "0", [[prop.calendarHomeSet]], anchor).pipe(
            Effect.map(({ ms, res }) =>
              Option.flatMap(Option.fromNullable(selfRow(ms, principalUrl, res.url)), (r) =>
                Calendars.hrefIn(r, Xml.CALDAV, "calendar-home-set", res.url)
              )
            )
          )

        if (Calendars.isCalendar(row)) {
          const described = yield* propfindLeaning(row.href, "0", DiscoverySteps.calendarSets, anchor)
          const self = selfRow(described.ms, row.href, described.res.url) ?? row
          const info = Calendars.toCalendarInfo(self)
          const home = Option.isSome(principal)
            ? yield* homeOf(principal.value).pipe(Effect.orElseSucceed(() => Option.none<string>()))
            : Option.none<string>()
          return {
            principal: Option.getOrElse(principal, () => row.href),
            home: Option.getOrElse(home, () => parentOf(row.href)),
            calendars: info.components.includes("VEVENT") ? [info] : []
          }
        }

        let home = Calendars.hrefIn(row, Xml.CALDAV, "calendar-home-set", here)
        if (Option.isNone(home) && Option.isSome(principal) && !isSelf(principal.value, asked, here)) {
          home = yield* homeOf(principal.value)
        }
        if (Option.isNone(home) && Calendars.isCollection(row)) {
          // No home set anywhere: the URL we were given is taken to be the home itself.
          home = Option.some(row.href)
        }
        if (Option.isNone(home)) {
          return yield* protocolError(
            { method: "PROPFIND", url: asked },
            res,
            "no calendar-home-set on the principal and the URL is not a collection"
          )
        }
        const listing = yield* propfindLeaning(home.value, "1", DiscoverySteps.calendarSets, anchor)
        return {
          principal: Option.getOrElse(principal, () => row.href),
          home: home.value,
          calendars: Calendars.eventCalendars(listing.ms, home.value, listing.res.url)
        }
      })

    // --- reads ----------------------------------------------------------------------------------

    const collectionState = (calendarUrl: string) =>
      propfind(calendarUrl, "0", [prop.getctag, prop.syncToken]).pipe(
        Effect.map(({ ms, res }) => {
          const row = selfRow(ms, calendarUrl, res.url)
          return {
            ctag: row === undefined ? Option.none() : Multistatus.propText(row, Xml.CALSERVER, "getctag"),
            syncToken: row === undefined ? Option.none() : Multistatus.propText(row, Xml.DAV, "sync-token")
          }
        })
      )

    const etagOf = (r: Multistatus.PropResponse) =>
      Option.getOrElse(Multistatus.propText(r, Xml.DAV, "getetag"), () => "")

    const maxSyncRounds = 10_000

    const syncCollection = (calendarUrl: string, token: Option.Option<string>) =>
      Effect.gen(function* () {
        // Later rounds override earlier ones: an href changed in round 1 and deleted in round 2 is deleted.
        const changes = new Map<string, { readonly href: string; readonly etag: Option.Option<string> }>()
        let current = Option.getOrElse(token, () => "")
        for (let round = 0; ; round++) {
          const sent = Option.isSome(token) || round > 0 ? current : undefined
          const { ms, res, call } = yield* report(
            calendarUrl,
            "0",
            Requests.syncCollection(current, [prop.getetag]),
            sent
          )
          let truncated = false
          for (const r of ms.responses) {
            const status = Option.getOrElse(r.status, () => 200)
            if (status === 507 || r.errors.includes("number-of-matches-within-limits")) {
              truncated = true
              continue
            }
            // RFC 6578 lists members only; iCloud also lists the collection itself.
            if (isSelf(r.href, calendarUrl, res.url)) continue
            const key = Multistatus.sameResourceKey(r.href)
            if (status === 404 || status === 410) changes.set(key, { href: r.href, etag: Option.none() })
            else changes.set(key, { href: r.href, etag: Option.some(etagOf(r)) })
          }
          if (Option.isNone(ms.syncToken)) {
            return yield* protocolError(call, res, "sync-collection answer carries no sync-token")
          }
          const next = ms.syncToken.value
          if (!truncated) {
            const changed: Array<ItemRef> = []
            const deleted: Array<string> = []
            for (const c of changes.values()) {
              if (Option.isSome(c.etag)) changed.push({ href: c.href, etag: c.etag.value })
              else deleted.push(c.href)
            }
            return { changed, deleted, token: next } satisfies SyncDelta
          }
          if (next === current || round >= maxSyncRounds) {
            return yield* protocolError(
              call,
              res,
              "truncated sync-collection answer whose token does not advance"
            )
          }
          current = next
        }
      })

    const listEtags = (calendarUrl: string) =>
      propfind(calendarUrl, "1", [prop.getetag, prop.resourcetype]).pipe(
        Effect.map(({ ms, res }) =>
          ms.responses
            // iCloud puts members' resourcetype in a 404 propstat; that leaves them plain members.
            .filter(
              (r) =>
                !isSelf(r.href, calendarUrl, res.url) &&
                !Calendars.isCollection(r) &&
                Option.getOrElse(r.status, () => 200) < 300
            )
            .map((r): ItemRef => ({ href: r.href, etag: etagOf(r) }))
        )
      )

    const itemProps: ReadonlyArray<PropName> = [prop.getetag, prop.calendarData]

    const itemsOf = (
      ms: Multistatus.Multistatus,
      calendarUrl: string,
      finalUrl: string
    ): ReadonlyArray<Item> =>
      ms.responses.flatMap((r) => {
        if (isSelf(r.href, calendarUrl, finalUrl)) return []
        if (Option.getOrElse(r.status, () => 200) >= 300) return []
        const data = Multistatus.prop(r, Xml.CALDAV, "calendar-data")
        if (data === undefined || data.text.trim() === "") return []
        return [{ href: r.href, etag: etagOf(r), data: data.text }]
      })

    const get = (href: string) =>
      Effect.gen(function* () {
        const res = yield* send({ method: "GET", url: href }, { headers: { accept: "text/calendar" } })
        const etag = res.headers.etag
        // the href asked for, not where a redirect led: callers key items by the href they hold
        return {
          href: res.requestedUrl,
          etag: etag ?? (yield* etagByPropfind(href)),
          data: res.body
        } satisfies Item
      })

    /** Where the whole multiget request fails with an answer, smaller requests may succeed. */
    const splittable = (e: CalDavError) =>
      e._tag === "Rejected" ||
      e._tag === "ProtocolError" ||
      e._tag === "NotFound" ||
      (e._tag === "Transient" && Option.isSome(e.status))

    /** `hrefs` are absolute here; found items carry the href as asked, whatever encoding the server echoes. */
    const multigetBatch = (
      calendarUrl: string,
      hrefs: ReadonlyArray<string>
    ): Effect.Effect<MultigetResult, CalDavError> =>
      report(calendarUrl, "1", Requests.calendarMultiget(hrefs.map(pathOf), itemProps)).pipe(
        Effect.map(({ ms, res }) => {
          const byKey = new Map<string, Item>()
          for (const item of itemsOf(ms, calendarUrl, res.url)) {
            byKey.set(Multistatus.sameResourceKey(item.href), item)
          }
          const found: Array<Item> = []
          const missing: Array<string> = []
          for (const href of hrefs) {
            const item = byKey.get(Multistatus.sameResourceKey(href))
            if (item === undefined) missing.push(href)
            else found.push({ ...item, href })
          }
          return { found, missing }
        }),
        Effect.catchIf(splittable, (e) => {
          const [first] = hrefs
          if (first === undefined) return Effect.fail(e)
          if (hrefs.length === 1) return single(first)
          const mid = Math.ceil(hrefs.length / 2)
          // A half of one href goes straight to GET: a multiget of one would fail the same way.
          const part = (slice: ReadonlyArray<string>) => {
            const [only] = slice
            return slice.length === 1 && only !== undefined ? single(only) : multigetBatch(calendarUrl, slice)
          }
          return Effect.zipWith(
            part(hrefs.slice(0, mid)),
            part(hrefs.slice(mid)),
            (a, b): MultigetResult => ({
              found: [...a.found, ...b.found],
              missing: [...a.missing, ...b.missing]
            })
          )
        })
      )

    const single = (href: string): Effect.Effect<MultigetResult, CalDavError> =>
      get(href).pipe(
        Effect.map((item): MultigetResult => ({ found: [item], missing: [] })),
        Effect.catchTag("NotFound", () => Effect.succeed<MultigetResult>({ found: [], missing: [href] }))
      )

    const multiget = (calendarUrl: string, hrefs: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const absolute = yield* Effect.forEach(hrefs, (h) =>
          Option.match(Multistatus.resolveHref(h, calendarUrl), {
            onNone: () =>
              Effect.fail(
                new ProtocolError({
                  method: "REPORT",
                  url: Exchange.displayUrl(calendarUrl),
                  status: Option.none(),
                  reason: `not a usable href: ${JSON.stringify(h)}`
                })
              ),
            onSome: Effect.succeed
          })
        )
        const found: Array<Item> = []
        const missing: Array<string> = []
        for (let i = 0; i < absolute.length; i += batchSize) {
          const r = yield* multigetBatch(calendarUrl, absolute.slice(i, i + batchSize))
          found.push(...r.found)
          missing.push(...r.missing)
        }
        return { found, missing } satisfies MultigetResult
      })

    const query = (calendarUrl: string, range: { readonly start: Date; readonly end: Date }) =>
      report(calendarUrl, "1", Requests.calendarQuery(range, itemProps)).pipe(
        Effect.map(({ ms, res }) => itemsOf(ms, calendarUrl, res.url))
      )

    // --- writes ---------------------------------------------------------------------------------

    const etagByPropfind = (href: string) =>
      propfind(href, "0", [prop.getetag]).pipe(
        Effect.flatMap(({ ms, res }) => {
          const row = selfRow(ms, href, res.url)
          const etag = row === undefined ? Option.none() : Multistatus.propText(row, Xml.DAV, "getetag")
          return Option.match(etag, {
            onNone: () =>
              Effect.fail(
                protocolError({ method: "PROPFIND", url: href }, res, "no getetag for the resource")
              ),
            onSome: Effect.succeed
          })
        })
      )

    /**
     * A 2xx may still wrap a failure: Xandikos answers a UID clash with 207 around a 412. The
     * inner status decides.
     */
    const checkWrapped = (call: Call, res: Exchange.RawResponse) => {
      if (res.status !== 207) return Effect.succeed(res)
      const inner = Either.getOrUndefined(Multistatus.parse(res.body, res.url, limits))
      const failing = inner?.responses.find((r) => Option.exists(r.status, (s) => !ok(s)))
      if (failing === undefined && conditionElements(res.body).length === 0) return Effect.succeed(res)
      const status = Option.getOrElse(failing?.status ?? Option.none(), () => 409)
      return Effect.fail(classify(call, { ...res, status }))
    }

    const put = (href: string, data: string, precondition: WritePrecondition) =>
      Effect.gen(function* () {
        const call: Call = { method: "PUT", url: href }
        const headers: Record<string, string> =
          precondition._tag === "Create" ? { "if-none-match": "*" } : { "if-match": precondition.etag }
        const res = yield* send(call, {
          headers,
          body: data,
          contentType: "text/calendar; charset=utf-8"
        }).pipe(
          Effect.flatMap((r) => checkWrapped(call, r)),
          // Some servers answer a PUT with If-Match on a missing item 409, not 412 or 404
          // (docs/caldav-servers.md): the item is gone, as a caller must hear to write it again.
          Effect.catchTag(
            "Rejected",
            (e): Effect.Effect<never, CalDavError> =>
              precondition._tag === "Update" && e.status === 409 && e.conditions.length === 0
                ? Effect.fail(new NotFound({ method: e.method, url: e.url, status: e.status }))
                : Effect.fail(e)
          )
        )
        const etag = res.headers.etag
        // Servers that altered the data on store (RFC 4791 §5.3.4), and iCloud at times, send no ETag.
        return { etag: etag ?? (yield* etagByPropfind(href)) }
      })

    const remove = (href: string, etag: string) => {
      const call: Call = { method: "DELETE", url: href }
      return send(call, { headers: { "if-match": etag } }).pipe(
        Effect.flatMap((r) => checkWrapped(call, r)),
        Effect.asVoid
      )
    }

    const mkcalendar = (
      url: string,
      props?: {
        readonly displayName?: string | undefined
        readonly components?: ReadonlyArray<string> | undefined
      }
    ) => {
      const body = props === undefined ? undefined : Requests.mkcalendar(props)
      const call: Call = { method: "MKCALENDAR", url }
      return send(call, { body }).pipe(
        Effect.flatMap((r) => checkWrapped(call, r)),
        Effect.asVoid
      )
    }

    return {
      discover,
      collectionState,
      syncCollection,
      listEtags,
      multiget,
      query,
      get,
      put,
      remove,
      mkcalendar,
      stats: exchanger.stats
    } satisfies CalDavClientShape
  })

export const layer = (options: ClientOptions): Layer.Layer<CalDavClient, never, HttpClient.HttpClient> =>
  Layer.effect(CalDavClient, make(options))

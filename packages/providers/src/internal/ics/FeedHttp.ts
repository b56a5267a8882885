/**
 * One conditional GET of a feed over @effect/platform's HttpClient (the stack the CalDAV client
 * uses; the server hands in its guarded undici client). Redirects are followed by hand, so that
 * the caller's URL check runs before every hop and we decide who sees the credentials: they go
 * only to the subscribed origin, and only over https. The body is read as a stream and the read
 * stops as soon as it passes the limit, so a huge or endless answer costs at most the limit.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { FeedFailed, type FeedReason } from "./FeedError.js"

export interface FeedAuth {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

/** Why the caller's URL check refused a URL, in words for a person. */
export interface UrlRefusal {
  readonly reason: string
}

export interface Settings {
  /** The subscribed URL, without user-info. */
  readonly url: URL
  readonly auth: Option.Option<FeedAuth>
  readonly timeout: Duration.Duration
  readonly maxBytes: number
  readonly maxRedirects: number
  readonly checkUrl: Option.Option<(url: URL) => Effect.Effect<void, UrlRefusal>>
}

export interface Validators {
  readonly etag: Option.Option<string>
  readonly lastModified: Option.Option<string>
}

export type Answer =
  | { readonly _tag: "NotModified" }
  | {
      readonly _tag: "Body"
      readonly text: string
      readonly validators: Validators
      /** Where the body came from after redirects. */
      readonly url: string
    }

/** A URL fit for errors and logs: no user-info, ever. */
export const shown = (url: URL): string => {
  const copy = new URL(url.href)
  copy.username = ""
  copy.password = ""
  return copy.href
}

const redirects = new Set([301, 302, 303, 307, 308])

const retryAfterMillis = (header: string | undefined): Option.Option<number> => {
  if (header === undefined) return Option.none()
  const seconds = Number(header.trim())
  if (Number.isFinite(seconds) && seconds >= 0) return Option.some(seconds * 1000)
  const at = Date.parse(header)
  return Number.isNaN(at) ? Option.none() : Option.some(Math.max(0, at - Date.now()))
}

/** Credentials never leave the subscribed origin, and never travel without TLS. */
export const mayCarryCredentials = (subscribed: URL, target: URL): boolean =>
  target.protocol === "https:" && target.origin === subscribed.origin

export interface Counters {
  requests: number
}

export const make = (settings: Settings) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const counters: Counters = { requests: 0 }

    const fail = (
      target: URL,
      reason: FeedReason,
      detail: string,
      extra: { readonly status?: number; readonly retryAfterMillis?: number } = {}
    ) => Effect.fail(new FeedFailed({ url: shown(target), reason, detail, ...extra }))

    /** The body, or a failure once it passes the limit (the rest is never read). */
    const bodyOf = (target: URL, stream: Stream.Stream<Uint8Array, unknown>) =>
      Effect.gen(function* () {
        const chunks: Array<Uint8Array> = []
        let size = 0
        yield* stream.pipe(
          Stream.mapError(() => "interrupted" as const),
          Stream.runForEachWhile((chunk) => {
            size += chunk.length
            if (size > settings.maxBytes) return Effect.succeed(false)
            chunks.push(chunk)
            return Effect.succeed(true)
          }),
          Effect.catchAll(() => fail(target, "network", "the connection broke while the feed was being read"))
        )
        if (size > settings.maxBytes) return yield* tooLarge(target)
        return Buffer.concat(chunks, size).toString("utf8")
      })

    const tooLarge = (target: URL) =>
      fail(
        target,
        "too-large",
        `the feed is larger than ${Math.floor(settings.maxBytes / (1024 * 1024))} MB, the most this server reads`
      )

    const once = (target: URL, validators: Option.Option<Validators>) => {
      const headers: Record<string, string> = {
        accept: "text/calendar, application/calendar+xml;q=0.5, */*;q=0.1",
        "user-agent": "Almanac calendar sync"
      }
      if (Option.isSome(validators)) {
        if (Option.isSome(validators.value.etag)) headers["if-none-match"] = validators.value.etag.value
        if (Option.isSome(validators.value.lastModified))
          headers["if-modified-since"] = validators.value.lastModified.value
      }
      if (Option.isSome(settings.auth) && mayCarryCredentials(settings.url, target)) {
        const { user, password } = settings.auth.value
        headers.authorization = `Basic ${Buffer.from(`${user}:${Redacted.value(password)}`, "utf8").toString("base64")}`
      }
      const request = HttpClientRequest.get(target.href).pipe(HttpClientRequest.setHeaders(headers))
      return Effect.gen(function* () {
        counters.requests++
        const res = yield* client.execute(request)
        const length = Number(res.headers["content-length"] ?? Number.NaN)
        // Refused before a byte of the body is read when the server says its size up front.
        // (a 304 may name the size of the feed it did not send)
        if (res.status >= 200 && res.status < 300 && Number.isFinite(length) && length > settings.maxBytes) {
          // one chunk read and the stream closed, so the connection is not left holding the rest
          yield* Effect.ignore(Stream.runHead(res.stream))
          return yield* tooLarge(target)
        }
        const text = yield* bodyOf(target, res.stream)
        return { status: res.status, headers: res.headers, text }
      }).pipe(
        Effect.catchTag("RequestError", "ResponseError", (e) =>
          fail(target, "network", `the feed's server could not be reached (${e.reason}: ${e.message})`)
        ),
        Effect.timeoutFail({
          duration: settings.timeout,
          onTimeout: () =>
            new FeedFailed({
              url: shown(target),
              reason: "timeout",
              detail: `no complete answer within ${Duration.format(settings.timeout)}`
            })
        })
      )
    }

    const allowed = (target: URL) =>
      Effect.gen(function* () {
        if (target.protocol !== "https:" && target.protocol !== "http:")
          return yield* fail(
            target,
            "refused-url",
            `only https:// and http:// can be read, not ${target.protocol}`
          )
        if (Option.isNone(settings.checkUrl)) return
        yield* settings.checkUrl
          .value(target)
          .pipe(Effect.catchAll((refusal) => fail(target, "refused-url", refusal.reason)))
      })

    /** The feed now: NotModified when the validators still hold, otherwise its text. */
    const get = (validators: Option.Option<Validators>): Effect.Effect<Answer, FeedFailed> =>
      Effect.gen(function* () {
        let target = settings.url
        for (let hop = 0; ; hop++) {
          yield* allowed(target)
          const res = yield* once(target, validators)
          const location = res.headers.location
          if (redirects.has(res.status) && location !== undefined) {
            if (hop >= settings.maxRedirects)
              return yield* fail(
                settings.url,
                "too-many-redirects",
                `more than ${settings.maxRedirects} redirects`,
                { status: res.status }
              )
            const next = yield* Effect.try({
              try: () => new URL(location, target),
              catch: () =>
                new FeedFailed({
                  url: shown(target),
                  reason: "http-status",
                  detail: "a redirect to something that is not a URL",
                  status: res.status
                })
            })
            target = next
            continue
          }
          if (res.status === 304) return { _tag: "NotModified" } as const
          if (res.status >= 200 && res.status < 300)
            return {
              _tag: "Body",
              text: res.text,
              validators: {
                etag: Option.fromNullable(res.headers.etag),
                lastModified: Option.fromNullable(res.headers["last-modified"])
              },
              url: shown(target)
            } as const
          const status = res.status
          if (status === 401)
            return yield* fail(
              target,
              "unauthorized",
              Option.isSome(settings.auth)
                ? "the feed refused the user name and password in its URL (401)"
                : "the feed asks for a user name and password (401); put them in the URL as https://user:password@host/…",
              { status }
            )
          if (status === 403)
            return yield* fail(
              target,
              "unauthorized",
              "the feed refused access (403): a private feed's secret address may have been reset; copy its address again",
              { status }
            )
          if (status === 404 || status === 410)
            return yield* fail(
              target,
              "not-found",
              `there is no feed at this address (${status}); check the URL, or whether the publisher moved or removed it`,
              { status }
            )
          if (status === 429 || status === 503) {
            const after = retryAfterMillis(res.headers["retry-after"])
            return yield* fail(target, "rate-limited", `the feed's server asks us to wait (${status})`, {
              status,
              ...(Option.isSome(after) ? { retryAfterMillis: after.value } : {})
            })
          }
          return yield* fail(
            target,
            "http-status",
            status >= 500
              ? `the feed's server failed (${status}); it may work again later`
              : `the feed answered ${status}, not the calendar`,
            { status }
          )
        }
      })

    return { get, requests: Effect.sync(() => counters.requests) }
  })

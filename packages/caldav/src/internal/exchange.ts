/**
 * One logical HTTP exchange: preemptive Basic auth, redirects followed by hand (so that we decide
 * who sees the credentials), a timeout, a bounded body, and the counters behind `stats`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { ProtocolError, Transient } from "../CalDavError.js"
import { mayCarryCredentials } from "./domain.js"
import * as Retry from "./retry.js"
import * as Utf8 from "./utf8.js"

export interface Credentials {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

export interface Stats {
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
}

export interface RawRequest {
  readonly method: string
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: string | undefined
  readonly contentType?: string | undefined
  /** The URL whose registrable domain may receive credentials; defaults to `url`. */
  readonly anchor?: string | undefined
  /**
   * Statuses that are the server's answer to this request, not a passing fault: never retried
   * (a 500 to a sync-collection with a token is how Xandikos rejects the token).
   */
  readonly answers?: ReadonlyArray<number> | undefined
}

export interface RawResponse {
  readonly method: string
  /** Final URL after redirects: relative hrefs resolve against it. */
  readonly url: string
  /** The URL first asked for, normalised. */
  readonly requestedUrl: string
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

export interface Settings {
  readonly credentials: Option.Option<Credentials>
  readonly timeout: Duration.Duration
  readonly maxBodyBytes: number
  readonly maxRedirects: number
  /** Asked before each request is sent, every redirect hop included; a refusal sends nothing. */
  readonly checkUrl: Option.Option<(url: URL) => Effect.Effect<void, UrlRefusal>>
  /** Retries of repeatable requests (safe methods, conditional writes) after transient failures. */
  readonly retry: Retry.RetryPolicy
}

/** Why the caller's URL check refused a URL, in words for a person. */
export interface UrlRefusal {
  readonly reason: string
}

/** A URL fit for errors and logs: no user-info, ever. */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url)
    u.username = ""
    u.password = ""
    return u.href
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//")
  }
}

const redirectStatuses = new Set([301, 302, 303, 307, 308])
const encoder = new TextEncoder()

const basic = (c: Credentials): string =>
  `Basic ${Buffer.from(`${c.user}:${Redacted.value(c.password)}`, "utf8").toString("base64")}`

export interface Exchanger {
  readonly send: (request: RawRequest) => Effect.Effect<RawResponse, Transient | ProtocolError>
  readonly stats: Effect.Effect<Stats>
}

export const make = (settings: Settings): Effect.Effect<Exchanger, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const counters = yield* Ref.make<Stats>({ requests: 0, bytesSent: 0, bytesReceived: 0 })

    const once = (
      method: string,
      target: URL,
      request: RawRequest,
      withAuth: boolean,
      requestedUrl: string
    ): Effect.Effect<RawResponse, Transient | ProtocolError> => {
      const shown = displayUrl(target.href)
      const headers: Record<string, string> = { ...request.headers }
      if (request.body !== undefined)
        headers["content-type"] = request.contentType ?? "application/xml; charset=utf-8"
      if (withAuth && Option.isSome(settings.credentials))
        headers.authorization = basic(settings.credentials.value)
      const bodyBytes = request.body === undefined ? undefined : encoder.encode(request.body)
      let req = HttpClientRequest.make(method as HttpMethod)(target.href).pipe(
        HttpClientRequest.setHeaders(headers)
      )
      if (bodyBytes !== undefined) {
        req = HttpClientRequest.bodyUint8Array(req, bodyBytes, headers["content-type"])
      }
      // Header bytes are estimated from what we set plus the request line; framing and TLS are not counted.
      const sent =
        method.length +
        target.pathname.length +
        target.search.length +
        12 +
        target.host.length +
        8 +
        Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0) +
        (bodyBytes?.length ?? 0)
      return Effect.gen(function* () {
        const res = yield* client.execute(req)
        const chunks = yield* res.stream.pipe(
          Stream.mapAccum(0, (total, chunk) => [
            total + chunk.length,
            [total + chunk.length, chunk] as const
          ]),
          Stream.takeUntil(([total]) => total > settings.maxBodyBytes),
          Stream.runCollect
        )
        const size = Chunk.reduce(chunks, 0, (n, [, c]) => n + c.length)
        const headerBytes = Object.entries(res.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 15)
        yield* Ref.update(counters, (s) => ({
          requests: s.requests + 1,
          bytesSent: s.bytesSent + sent,
          bytesReceived: s.bytesReceived + headerBytes + size
        }))
        if (size > settings.maxBodyBytes) {
          return yield* new ProtocolError({
            method,
            url: shown,
            status: Option.some(res.status),
            reason: `response body larger than ${settings.maxBodyBytes} bytes`
          })
        }
        const bytes = new Uint8Array(size)
        let offset = 0
        for (const [, c] of chunks) {
          bytes.set(c, offset)
          offset += c.length
        }
        return {
          method,
          url: target.href,
          requestedUrl,
          status: res.status,
          headers: res.headers,
          // Bytes that are not UTF-8 become NUL, which the iCalendar codec quarantines (see utf8.ts).
          body: Utf8.decode(bytes).text
        } satisfies RawResponse
      }).pipe(
        Effect.catchTag("RequestError", "ResponseError", (e) =>
          Effect.fail(
            new Transient({
              method,
              url: shown,
              status: Option.none(),
              reason:
                e._tag === "RequestError" ? `network error (${e.reason})` : `response error (${e.reason})`
            })
          )
        ),
        Effect.timeoutFail({
          duration: settings.timeout,
          onTimeout: () =>
            new Transient({
              method,
              url: shown,
              status: Option.none(),
              reason: `no complete answer within ${Duration.format(settings.timeout)}`
            })
        })
      )
    }

    const allowed = (method: string, target: URL): Effect.Effect<void, ProtocolError> =>
      Option.match(settings.checkUrl, {
        onNone: () => Effect.void,
        onSome: (check) =>
          check(target).pipe(
            Effect.mapError(
              (refusal) =>
                new ProtocolError({
                  method,
                  url: displayUrl(target.href),
                  status: Option.none(),
                  reason: `refused before connecting: ${refusal.reason}`
                })
            )
          )
      })

    const sendOnce = (request: RawRequest): Effect.Effect<RawResponse, Transient | ProtocolError> =>
      Effect.gen(function* () {
        const anchor = yield* parseUrl(request.method, request.anchor ?? request.url)
        let target = yield* parseUrl(request.method, request.url)
        const requested = target.href
        let method = request.method
        let current: RawRequest = request
        for (let hop = 0; ; hop++) {
          yield* allowed(method, target)
          const res = yield* once(method, target, current, mayCarryCredentials(anchor, target), requested)
          const location = res.headers.location
          if (!redirectStatuses.has(res.status) || location === undefined) return res
          if (hop >= settings.maxRedirects) {
            return yield* new ProtocolError({
              method,
              url: displayUrl(request.url),
              status: Option.some(res.status),
              reason: `more than ${settings.maxRedirects} redirects`
            })
          }
          target = yield* parseUrl(method, location, target.href)
          // 303 means "look elsewhere with GET"; WebDAV clients keep the method for the others,
          // since a PROPFIND turned into a GET would answer a different question.
          if (res.status === 303) {
            method = "GET"
            current = { method, url: target.href, headers: request.headers }
          }
        }
      })

    const schedule = Retry.schedule<RawResponse>(settings.retry)
    const worthRetrying = Retry.worthRetrying(settings.retry)

    // The one place requests are retried: the whole logical request, redirects included. When the
    // retries run out, the last answer goes back to the caller, which classifies it as before.
    const send = (request: RawRequest): Effect.Effect<RawResponse, Transient | ProtocolError> => {
      if (settings.retry.attempts <= 1 || !Retry.repeatable(request.method, request.headers))
        return sendOnce(request)
      const attempt: Effect.Effect<
        RawResponse,
        Transient | ProtocolError | Retry.RetryableAnswer<RawResponse>
      > = sendOnce(request).pipe(
        Effect.filterOrElse(
          (res) => !Retry.retryableStatus(res.status) || (request.answers?.includes(res.status) ?? false),
          (res) => Effect.fail(Retry.answer(res, Date.now()))
        )
      )
      return attempt.pipe(
        Effect.retry({ schedule, while: worthRetrying }),
        Effect.catchTag("RetryableAnswer", (e) => Effect.succeed(e.response))
      )
    }

    return { send, stats: Ref.get(counters) }
  })

const parseUrl = (method: string, url: string, base?: string): Effect.Effect<URL, ProtocolError> =>
  Effect.try({
    try: () => new URL(url, base),
    catch: () =>
      new ProtocolError({
        method,
        url: displayUrl(base ?? url),
        status: Option.none(),
        reason: `not a usable URL: ${JSON.stringify(displayUrl(url))}`
      })
  })

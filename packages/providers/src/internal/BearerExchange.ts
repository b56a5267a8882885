/**
 * One JSON request with a bearer token to a calendar API (Google Calendar, Microsoft Graph): the
 * body as JSON, a deadline per exchange, the bytes counted for the bench, transport failures as
 * Transient; and a 401 answered by refreshing the token once and sending again — a second 401
 * is Unauthorized, which parks the account. What an answer means is each client's own.
 */
import { ProviderError } from "@almanac/core"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

export interface ExchangeStats {
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
}

export interface Tokens {
  readonly accessToken: Effect.Effect<
    Redacted.Redacted<string>,
    ProviderError.Unauthorized | ProviderError.Transient
  >
  readonly refreshAfterRejection: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, ProviderError.Unauthorized | ProviderError.Transient>
}

export interface Options {
  readonly http: HttpClient.HttpClient
  readonly tokens: Tokens
  readonly timeout: Duration.Duration
  /** Names the account in errors. */
  readonly account: string
  /** Who refused a freshly refreshed token, in words ("Google", "Microsoft Graph"). */
  readonly service: string
  /** Around every single exchange (Graph: the mailbox's concurrency permits). */
  readonly around?: <A, E>(exchange: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

export const make = (options: Options) =>
  Effect.gen(function* () {
    const counters = yield* Ref.make<ExchangeStats>({ requests: 0, bytesSent: 0, bytesReceived: 0 })
    const { http, timeout, account } = options
    const around = options.around ?? (<A, E>(e: Effect.Effect<A, E>) => e)
    const transient = (detail: string) => new ProviderError.Transient({ calendar: account, detail })

    const once = (
      method: Method,
      url: string,
      token: Redacted.Redacted<string>,
      body: unknown,
      headers: Record<string, string>
    ): Effect.Effect<Answer, ProviderError.Transient> => {
      const text = body === undefined ? undefined : JSON.stringify(body)
      let request = HttpClientRequest.make(method)(url).pipe(
        HttpClientRequest.setHeaders({
          ...headers,
          accept: "application/json",
          authorization: `Bearer ${Redacted.value(token)}`
        })
      )
      if (text !== undefined)
        request = HttpClientRequest.bodyText(request, text, "application/json; charset=utf-8")
      return around(
        Effect.gen(function* () {
          const res = yield* http.execute(request)
          const answer = yield* res.text
          yield* Ref.update(counters, (s) => ({
            requests: s.requests + 1,
            bytesSent: s.bytesSent + url.length + (text?.length ?? 0) + 200,
            bytesReceived: s.bytesReceived + answer.length + 200
          }))
          return { status: res.status, headers: res.headers, body: answer }
        }).pipe(
          Effect.scoped,
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () => transient(`${method} ${url}: no answer within ${Duration.format(timeout)}`)
          }),
          Effect.catchTag("RequestError", "ResponseError", (e) =>
            Effect.fail(transient(`${method} ${url}: ${e.message}`))
          )
        )
      )
    }

    /** One request with a valid token; a 401 refreshes the token once and sends it again. */
    const authorized = (
      method: Method,
      url: string,
      body: unknown,
      headers: Record<string, string>
    ): Effect.Effect<Answer, ProviderError.Transient | ProviderError.Unauthorized> =>
      Effect.gen(function* () {
        const token = yield* options.tokens.accessToken
        const first = yield* once(method, url, token, body, headers)
        if (first.status !== 401) return first
        const fresh = yield* options.tokens.refreshAfterRejection(token)
        const second = yield* once(method, url, fresh, body, headers)
        if (second.status === 401)
          return yield* new ProviderError.Unauthorized({
            calendar: account,
            detail: `${options.service} refused a freshly refreshed access token`
          })
        return second
      })

    return { authorized, transient, stats: Ref.get(counters) }
  })

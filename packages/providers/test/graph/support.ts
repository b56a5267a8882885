/**
 * A Graph fake with a token source and the calendar client wired to it: MicrosoftOAuth pointed at
 * the fake's identity-platform endpoints (the fake's origin as the authority), and the token
 * source that takes each rotated refresh token as the identity platform gives it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { GraphCalendarClient, MicrosoftOAuth, type OAuth2, OAuthTokenSource } from "../../src/index.js"
import * as GraphFake from "../fakes/GraphFake.js"

export const REDIRECT = "http://127.0.0.1:9/oauth/microsoft/callback"
export const CAL = "AAMkCal-default"

export interface Wired {
  readonly fake: GraphFake.GraphFake
  readonly tokens: OAuthTokenSource.TokenSourceShape
  readonly client: GraphCalendarClient.GraphCalendarClientShape
  /** Every token set the token source reported as refreshed (what the server would seal). */
  readonly sealed: ReadonlyArray<OAuth2.TokenSet>
  readonly initialRefreshToken: string
}

export const wired = (
  options: GraphFake.GraphFakeOptions & {
    readonly client?: Partial<GraphCalendarClient.ClientOptions>
  } = {}
) =>
  Effect.gen(function* () {
    const fake = yield* Effect.acquireRelease(
      Effect.promise(() => GraphFake.start({ clientSecret: "fake-secret", ...options })),
      (f) => Effect.promise(() => f.close())
    )
    const oauth = Either.getOrThrowWith(
      MicrosoftOAuth.make({
        clientId: fake.clientId,
        clientSecret: Redacted.make(fake.clientSecret ?? ""),
        redirectUri: REDIRECT,
        authority: fake.authorityUrl
      }),
      (e) => new Error(e.message)
    )
    const grant = fake.issueTokens()
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const sealed: Array<OAuth2.TokenSet> = []
    const tokens = yield* OAuthTokenSource.make({
      oauth,
      account: "acct-ms",
      initial: {
        accessToken: Redacted.make(grant.accessToken),
        refreshToken: Redacted.make(grant.refreshToken),
        expiresAt: now + grant.expiresIn * 1000
      },
      onRefresh: (t) => Effect.sync(() => sealed.push(t))
    })
    const client = yield* GraphCalendarClient.make({
      tokens,
      apiUrl: fake.apiUrl,
      account: "acct-ms",
      ...options.client
    })
    return { fake, tokens, client, sealed, initialRefreshToken: grant.refreshToken } satisfies Wired
  }).pipe(Effect.provide(FetchHttpClient.layer))

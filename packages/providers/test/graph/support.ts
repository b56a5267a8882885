/**
 * A Graph fake with a token source and the calendar client wired to it. The token source is
 * Google's (GoogleOAuth + GoogleTokenSource: generic OAuth 2.0 over oauth4webapi, pointed at the
 * fake's identity-platform token endpoint) because the Microsoft OAuth client is not written yet;
 * GraphCalendarClient only needs the shape, and this one takes a rotated refresh token as Graph
 * gives it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { GoogleOAuth, GoogleTokenSource, GraphCalendarClient } from "../../src/index.js"
import * as GraphFake from "../fakes/GraphFake.js"

export const REDIRECT = "http://127.0.0.1:9/oauth/microsoft/callback"
export const CAL = "AAMkCal-default"

export interface Wired {
  readonly fake: GraphFake.GraphFake
  readonly tokens: GoogleTokenSource.GoogleTokenSourceShape
  readonly client: GraphCalendarClient.GraphCalendarClientShape
  /** Every token set the token source reported as refreshed (what the server would seal). */
  readonly sealed: ReadonlyArray<GoogleOAuth.TokenSet>
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
      GoogleOAuth.make({
        clientId: fake.clientId,
        clientSecret: Redacted.make(fake.clientSecret ?? ""),
        redirectUri: REDIRECT,
        authUrl: fake.authorizeUrl(),
        tokenUrl: fake.tokenUrl(),
        revokeUrl: `${fake.authorityUrl}/revoke-not-modelled`
      }),
      (e) => new Error(e.message)
    )
    const grant = fake.issueTokens()
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const sealed: Array<GoogleOAuth.TokenSet> = []
    const tokens = yield* GoogleTokenSource.make({
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

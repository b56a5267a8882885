/** A Google fake with the OAuth client, token source and calendar client wired to it. */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { GoogleCalendarClient, GoogleOAuth, type OAuth2, OAuthTokenSource } from "../../src/index.js"
import * as GoogleFake from "../fakes/GoogleFake.js"

export const REDIRECT = "http://127.0.0.1:9/oauth/google/callback"

export const oauthFor = (fake: GoogleFake.GoogleFake) =>
  Either.getOrThrowWith(
    GoogleOAuth.make({
      clientId: fake.clientId,
      clientSecret: Redacted.make(fake.clientSecret),
      redirectUri: REDIRECT,
      authUrl: fake.authUrl,
      tokenUrl: fake.tokenUrl,
      revokeUrl: fake.revokeUrl
    }),
    (e) => new Error(e.message)
  )

export interface Wired {
  readonly fake: GoogleFake.GoogleFake
  readonly oauth: OAuth2.OAuth2Shape
  readonly tokens: OAuthTokenSource.TokenSourceShape
  readonly client: GoogleCalendarClient.GoogleCalendarClientShape
  /** Every token set the token source reported as refreshed (what the server would seal). */
  readonly sealed: ReadonlyArray<GoogleOAuth.TokenSet>
}

/** The fake (closed with the scope) and a client holding a fresh grant. */
export const wired = (options: GoogleFake.GoogleFakeOptions & { readonly expiresInMillis?: number } = {}) =>
  Effect.gen(function* () {
    const fake = yield* Effect.acquireRelease(
      Effect.promise(() => GoogleFake.start(options)),
      (f) => Effect.promise(() => f.close())
    )
    const oauth = oauthFor(fake)
    const grant = fake.issueTokens()
    const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
    const sealed: Array<GoogleOAuth.TokenSet> = []
    const tokens = yield* OAuthTokenSource.make({
      oauth,
      account: "acct-1",
      initial: {
        accessToken: Redacted.make(grant.accessToken),
        refreshToken: Redacted.make(grant.refreshToken),
        expiresAt: now + (options.expiresInMillis ?? grant.expiresIn * 1000)
      },
      onRefresh: (t) => Effect.sync(() => sealed.push(t))
    })
    const client = yield* GoogleCalendarClient.make({ tokens, apiUrl: fake.apiUrl, account: "acct-1" })
    return { fake, oauth, tokens, client, sealed } satisfies Wired
    // fetch is not a scoped resource: the client outlives this constructor (an undici layer here
    // would close with it).
  }).pipe(Effect.provide(FetchHttpClient.layer))

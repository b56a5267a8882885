/**
 * Connecting a Google account: start a flow (a server-side state with a PKCE verifier, and the
 * authorization URL to send the browser to), then finish it when Google sends the browser back to
 * `{ALMANAC_PUBLIC_URL}/oauth/google/callback`. The state is single-use, lasts ten minutes and
 * names the user who started the flow; a flow started in the settings pages also needs the same
 * browser back (its flow cookie), and a browser signed in as someone else never finishes another
 * person's flow. The account is named by its primary calendar's id, as the Calendar API gives it,
 * so no id_token is needed.
 */
import { timingSafeEqual } from "node:crypto"
import type { SyncStore } from "@almanac/core"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { ServerConfig } from "../Config.js"
import * as Credential from "../store/Credential.js"
import { hashOf, OAuthStates } from "../store/OAuthStates.js"
import { AccountService, type AccountWithCalendars, googleFound } from "./AccountService.js"
import { callbackPath, GoogleAuth } from "./GoogleAuth.js"

/** Connecting Google is not offered: what the operator has to set first. */
export class GoogleNotConfigured extends Schema.TaggedError<GoogleNotConfigured>()("GoogleNotConfigured", {
  missing: Schema.Literal("client", "public-url"),
  /** Where Google must send the browser back, when it is known: the URI to register. */
  redirectUri: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.missing === "public-url"
      ? "connecting Google needs ALMANAC_PUBLIC_URL, the address browsers reach this server at (Google sends them back to it)"
      : `connecting Google needs a Google OAuth client: ${howToCreateClient(this.redirectUri)}`
  }
}

/** The steps to create an OAuth client, in words (API, pages and README say the same). */
export const howToCreateClient = (redirectUri: string | undefined): string =>
  `in the Google Cloud console (console.cloud.google.com) enable the Google Calendar API, then under APIs & Services → Credentials create an OAuth client ID of type "Web application" with the authorized redirect URI ${redirectUri ?? "{ALMANAC_PUBLIC_URL}/oauth/google/callback"}, and set ALMANAC_GOOGLE_CLIENT_ID and ALMANAC_GOOGLE_CLIENT_SECRET to its id and secret`

/** Why a connection did not finish. Nothing was stored; the words are written at the edge. */
export class GoogleConnectFailed extends Schema.TaggedError<GoogleConnectFailed>()("GoogleConnectFailed", {
  reason: Schema.Literal(
    /** The callback came without a state: not from a flow we started. */
    "missing-state",
    /** No such flow: made up, already used (a replay), or long gone. */
    "unknown-state",
    "expired-state",
    /** Started in the settings pages of another browser (or its flow cookie is gone). */
    "other-browser",
    /** This browser is signed in as someone other than the person who started the flow. */
    "other-user",
    /** The person did not allow access (error=access_denied). */
    "denied",
    /** Google answered the authorization request with another error code (in `detail`). */
    "google-error",
    /** The token endpoint refused the code. */
    "exchange-refused",
    /** Google could not be reached or failed. */
    "unavailable",
    /** Google's answers were not what its documentation says (no refresh token, no primary calendar). */
    "unexpected",
    /** Connecting Google is not configured (any more) on this server. */
    "not-configured"
  ),
  detail: Schema.optional(Schema.String),
  /** Whose flow it was, when the state named one. */
  userId: Schema.optional(Schema.String)
}) {
  override get message() {
    return `connecting Google failed: ${this.reason}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

export interface Connected extends AccountWithCalendars {
  /** The account was connected before: its access was renewed. */
  readonly renewed: boolean
  /** The flow was started in the settings pages (with a flow cookie), not through the API. */
  readonly startedInPages: boolean
}

export interface GoogleConnectShape {
  /**
   * Where Google sends the browser back and the origin of its authorization page (the pages
   * allow their form to lead there), or why Google cannot be offered.
   */
  readonly setup: Effect.Effect<
    { readonly redirectUri: string; readonly authorizeOrigin: string },
    GoogleNotConfigured
  >
  /** A new flow for `userId`; the URL to send the browser to. */
  readonly start: (input: {
    readonly userId: string
    readonly name: Option.Option<string>
    /** The flow cookie of a flow started in the settings pages. */
    readonly browser: Option.Option<Redacted.Redacted<string>>
  }) => Effect.Effect<string, GoogleNotConfigured | SyncStore.StoreError>
  /** The callback's query, the browser's flow cookie and who is signed in there (if anyone). */
  readonly finish: (input: {
    readonly state: Option.Option<string>
    readonly code: Option.Option<string>
    readonly error: Option.Option<string>
    readonly browser: Option.Option<string>
    readonly signedIn: Option.Option<string>
  }) => Effect.Effect<Connected, GoogleConnectFailed | SyncStore.StoreError>
}

export class GoogleConnect extends Context.Tag("@almanac/server/GoogleConnect")<
  GoogleConnect,
  GoogleConnectShape
>() {}

const sameHash = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** An error code from the query, kept only if it looks like one (it is shown on a page). */
const codeOf = (text: string): string => (/^[a-z_]{1,64}$/.test(text) ? text : "an unknown error")

export const make = (
  config: Pick<ServerConfig, "publicUrl" | "google">
): Effect.Effect<GoogleConnectShape, never, OAuthStates | AccountService> =>
  Effect.gen(function* () {
    const states = yield* OAuthStates
    const service = yield* AccountService
    const google = yield* Effect.serviceOption(GoogleAuth)
    const redirectUri = Option.map(config.publicUrl, (base) => `${base}${callbackPath}`)

    const setup = Effect.gen(function* () {
      if (Option.isNone(redirectUri)) return yield* new GoogleNotConfigured({ missing: "public-url" })
      if (Option.isNone(google))
        return yield* new GoogleNotConfigured({ missing: "client", redirectUri: redirectUri.value })
      return { redirectUri: redirectUri.value, auth: google.value }
    })

    const failed = (
      reason: GoogleConnectFailed["reason"],
      extra: { readonly detail?: string; readonly userId?: string } = {}
    ) => Effect.fail(new GoogleConnectFailed({ reason, ...extra }))

    return {
      setup: Effect.map(setup, ({ redirectUri }) => ({
        redirectUri,
        authorizeOrigin: new URL(config.google.authUrl).origin
      })),
      start: (input) =>
        Effect.gen(function* () {
          const { redirectUri, auth } = yield* setup
          const pending = yield* auth.authorize
          yield* states.start({
            state: pending.state,
            provider: "google",
            userId: input.userId,
            browser: input.browser,
            name: input.name,
            codeVerifier: pending.codeVerifier,
            redirectUri
          })
          return pending.url
        }),
      finish: (input) =>
        Effect.gen(function* () {
          if (Option.isNone(input.state)) return yield* failed("missing-state")
          const taken = yield* states
            .take("google", input.state.value)
            .pipe(Effect.catchTag("VaultError", () => Effect.succeed({ _tag: "Unknown" } as const)))
          if (taken._tag === "Unknown") return yield* failed("unknown-state")
          if (taken._tag === "Expired") return yield* failed("expired-state")
          const flow = taken.flow
          const whose = { userId: flow.userId }
          if (Option.isSome(input.signedIn) && input.signedIn.value !== flow.userId)
            return yield* failed("other-user", whose)
          const expected = flow.browserHash
          if (
            Option.isSome(expected) &&
            !Option.exists(input.browser, (cookie) => sameHash(hashOf(cookie), expected.value))
          )
            return yield* failed("other-browser", whose)
          if (Option.isSome(input.error))
            return yield* input.error.value === "access_denied"
              ? failed("denied", whose)
              : failed("google-error", { ...whose, detail: codeOf(input.error.value) })
          if (Option.isNone(input.code)) return yield* failed("google-error", { ...whose, detail: "no code" })
          if (Option.isNone(google)) return yield* failed("not-configured", whose)
          const auth = google.value
          const fromGoogle = (e: {
            readonly reason: string
            readonly step: string
            readonly detail: string
          }) =>
            new GoogleConnectFailed({
              reason:
                e.reason === "refused"
                  ? "exchange-refused"
                  : e.reason === "unavailable"
                    ? "unavailable"
                    : "unexpected",
              detail: `${e.step}: ${e.detail}`,
              ...whose
            })
          const state = input.state.value
          const tokens = yield* auth
            .exchange(new URLSearchParams({ code: input.code.value, state }), {
              state: Redacted.make(state),
              codeVerifier: flow.codeVerifier
            })
            .pipe(Effect.mapError(fromGoogle))
          // Tokens refreshed while the list is read belong to the account about to be stored.
          let latest = tokens
          const listed = yield* auth
            .calendars(tokens, (next) => Effect.sync(() => (latest = next)))
            .pipe(Effect.mapError(fromGoogle))
          const primary = listed.find((c) => c.primary)
          if (primary === undefined)
            return yield* failed("unexpected", {
              ...whose,
              detail: "the calendar list has no primary calendar"
            })
          const adopted = yield* service.adopt({
            userId: flow.userId,
            kind: "google",
            url: config.google.apiUrl,
            username: primary.id,
            name: Option.getOrElse(flow.name, () => `Google (${primary.id})`),
            credential: Credential.OAuth.make(latest),
            calendars: googleFound(listed)
          })
          return { ...adopted, startedInPages: Option.isSome(flow.browserHash) }
        })
    }
  })

export const layer = (
  config: Pick<ServerConfig, "publicUrl" | "google">
): Layer.Layer<GoogleConnect, never, OAuthStates | AccountService> =>
  Layer.effect(GoogleConnect, make(config))

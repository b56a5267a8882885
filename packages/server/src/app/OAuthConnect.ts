/**
 * Connecting an account of a service behind OAuth (Google, Microsoft 365): start a flow (a
 * server-side state with a PKCE verifier, and the authorization URL to send the browser to), then
 * finish it when the service sends the browser back to `{ALMANAC_PUBLIC_URL}/oauth/<kind>/callback`.
 * The state is single-use, lasts ten minutes, belongs to one service and names the user who
 * started the flow; a flow started in the settings pages also needs the same browser back (its
 * flow cookie), and a browser signed in as someone else never finishes another person's flow. The
 * account is named from the service's API (Google's primary calendar id, Microsoft's address from
 * `/me`), so no id_token is needed.
 */
import { timingSafeEqual } from "node:crypto"
import type { SyncStore } from "@almanac/core"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { ServerConfig } from "../Config.js"
import * as Credential from "../store/Credential.js"
import { hashOf, OAuthStates } from "../store/OAuthStates.js"
import { AccountService, type AccountWithCalendars, oauthFound } from "./AccountService.js"
import { GoogleAuth } from "./GoogleAuth.js"
import { MicrosoftAuth } from "./MicrosoftAuth.js"
import { type OAuthKind, type ServiceAuthShape, services } from "./OAuthService.js"

/** Connecting the service is not offered: what the operator has to set first. */
export class OAuthNotConfigured extends Schema.TaggedError<OAuthNotConfigured>()("OAuthNotConfigured", {
  service: Schema.Literal("google", "microsoft"),
  missing: Schema.Literal("client", "public-url"),
  /** Where the service must send the browser back, when it is known: the URI to register. */
  redirectUri: Schema.optional(Schema.String)
}) {
  override get message() {
    const info = services[this.service]
    return this.missing === "public-url"
      ? `connecting ${info.label} needs ALMANAC_PUBLIC_URL, the address browsers reach this server at (${info.label} sends them back to it)`
      : `connecting ${info.label} needs an OAuth client registered with ${info.label}: ${info.howToRegister(this.redirectUri)}`
  }
}

/** Why a connection did not finish. Nothing was stored; the words are written at the edge. */
export class OAuthConnectFailed extends Schema.TaggedError<OAuthConnectFailed>()("OAuthConnectFailed", {
  service: Schema.Literal("google", "microsoft"),
  reason: Schema.Literal(
    /** The callback came without a state: not from a flow we started. */
    "missing-state",
    /** No such flow: made up, already used (a replay), started for another service, or long gone. */
    "unknown-state",
    "expired-state",
    /** Started in the settings pages of another browser (or its flow cookie is gone). */
    "other-browser",
    /** This browser is signed in as someone other than the person who started the flow. */
    "other-user",
    /** The person did not allow access (error=access_denied). */
    "denied",
    /** The service answered the authorization request with another error code (in `detail`). */
    "service-error",
    /** The token endpoint refused the code. */
    "exchange-refused",
    /** The service could not be reached or failed. */
    "unavailable",
    /** The service's answers were not what its documentation says (no refresh token, no primary calendar). */
    "unexpected",
    /** Connecting the service is not configured (any more) on this server. */
    "not-configured"
  ),
  detail: Schema.optional(Schema.String),
  /** Whose flow it was, when the state named one. */
  userId: Schema.optional(Schema.String)
}) {
  override get message() {
    return `connecting ${services[this.service].label} failed: ${this.reason}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

export interface Connected extends AccountWithCalendars {
  /** The account was connected before: its access was renewed. */
  readonly renewed: boolean
  /** The flow was started in the settings pages (with a flow cookie), not through the API. */
  readonly startedInPages: boolean
}

export interface ConnectShape {
  /**
   * Where the service sends the browser back and the origin of its authorization page (the pages
   * allow their form to lead there), or why the service cannot be offered.
   */
  readonly setup: Effect.Effect<
    { readonly redirectUri: string; readonly authorizeOrigin: string },
    OAuthNotConfigured
  >
  /** A new flow for `userId`; the URL to send the browser to. */
  readonly start: (input: {
    readonly userId: string
    readonly name: Option.Option<string>
    /** The flow cookie of a flow started in the settings pages. */
    readonly browser: Option.Option<Redacted.Redacted<string>>
  }) => Effect.Effect<string, OAuthNotConfigured | SyncStore.StoreError>
  /** The callback's query, the browser's flow cookie and who is signed in there (if anyone). */
  readonly finish: (input: {
    readonly state: Option.Option<string>
    readonly code: Option.Option<string>
    readonly error: Option.Option<string>
    readonly browser: Option.Option<string>
    readonly signedIn: Option.Option<string>
  }) => Effect.Effect<Connected, OAuthConnectFailed | SyncStore.StoreError>
}

/** Connecting each OAuth service. */
export class OAuthConnect extends Context.Tag("@almanac/server/OAuthConnect")<
  OAuthConnect,
  Record<OAuthKind, ConnectShape>
>() {}

const sameHash = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** An error code from the query, kept only if it looks like one (it is shown on a page). */
const codeOf = (text: string): string => (/^[a-z_]{1,64}$/.test(text) ? text : "an unknown error")

const connectTo = (
  kind: OAuthKind,
  service: Option.Option<ServiceAuthShape>,
  config: Pick<ServerConfig, "publicUrl">,
  states: OAuthStates["Type"],
  accounts: AccountService["Type"]
): ConnectShape => {
  const info = services[kind]
  const redirectUri = Option.map(config.publicUrl, (base) => `${base}${info.callbackPath}`)

  const setup = Effect.gen(function* () {
    if (Option.isNone(redirectUri))
      return yield* new OAuthNotConfigured({ service: kind, missing: "public-url" })
    if (Option.isNone(service))
      return yield* new OAuthNotConfigured({
        service: kind,
        missing: "client",
        redirectUri: redirectUri.value
      })
    return { redirectUri: redirectUri.value, auth: service.value }
  })

  const failed = (
    reason: OAuthConnectFailed["reason"],
    extra: { readonly detail?: string; readonly userId?: string } = {}
  ) => Effect.fail(new OAuthConnectFailed({ service: kind, reason, ...extra }))

  return {
    setup: Effect.map(setup, ({ redirectUri, auth }) => ({
      redirectUri,
      authorizeOrigin: auth.authorizeOrigin
    })),
    start: (input) =>
      Effect.gen(function* () {
        const { redirectUri, auth } = yield* setup
        const pending = yield* auth.authorize
        yield* states.start({
          state: pending.state,
          provider: kind,
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
          .take(kind, input.state.value)
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
            : failed("service-error", { ...whose, detail: codeOf(input.error.value) })
        if (Option.isNone(input.code)) return yield* failed("service-error", { ...whose, detail: "no code" })
        if (Option.isNone(service)) return yield* failed("not-configured", whose)
        const auth = service.value
        const fromService = (e: {
          readonly reason: string
          readonly step: string
          readonly detail: string
        }) =>
          new OAuthConnectFailed({
            service: kind,
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
          .pipe(Effect.mapError(fromService))
        // Tokens refreshed while the account is read belong to the account about to be stored.
        let latest = tokens
        const found = yield* auth
          .discover(tokens, (next) => Effect.sync(() => (latest = next)))
          .pipe(Effect.mapError(fromService))
        const adopted = yield* accounts.adopt({
          userId: flow.userId,
          kind,
          url: auth.apiUrl,
          username: found.username,
          name: Option.getOrElse(flow.name, () => `${info.label} (${found.username})`),
          credential: Credential.OAuth.make(latest),
          calendars: oauthFound(found.calendars)
        })
        return { ...adopted, startedInPages: Option.isSome(flow.browserHash) }
      })
  }
}

export const make = (
  config: Pick<ServerConfig, "publicUrl">
): Effect.Effect<Record<OAuthKind, ConnectShape>, never, OAuthStates | AccountService> =>
  Effect.gen(function* () {
    const states = yield* OAuthStates
    const accounts = yield* AccountService
    const google = yield* Effect.serviceOption(GoogleAuth)
    const microsoft = yield* Effect.serviceOption(MicrosoftAuth)
    return {
      google: connectTo("google", google, config, states, accounts),
      microsoft: connectTo("microsoft", microsoft, config, states, accounts)
    }
  })

export const layer = (
  config: Pick<ServerConfig, "publicUrl">
): Layer.Layer<OAuthConnect, never, OAuthStates | AccountService> => Layer.effect(OAuthConnect, make(config))

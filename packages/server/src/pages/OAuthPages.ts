/**
 * Connecting an OAuth service (Google, Microsoft 365) from the settings pages, and the callback
 * the service sends every browser to (flows started through the API too). The pages' session
 * cookie is SameSite=Strict, so a browser does not send it on the redirect back from the service
 * (a cross-site navigation); a flow started here
 * is bound to its browser by a cookie of its own instead: random, HttpOnly, SameSite=Lax (sent on
 * that top-level GET), only for the callback's path, for the ten minutes a state lives. The server
 * keeps only its hash beside the state. For the same reason the account's page after such a flow is
 * reached through a page of ours (a navigation it starts carries the session again), not a 303.
 */
import { HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { OAuthConnect, type OAuthConnectFailed } from "../app/OAuthConnect.js"
import { type OAuthKind, type ServiceInfo, services } from "../app/OAuthService.js"
import { lifetime, randomSecret } from "../store/OAuthStates.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Session from "./Session.js"

const flowCookieOptions = (info: ServiceInfo, request: HttpServerRequest.HttpServerRequest) =>
  ({
    ...Session.cookieOptions(request),
    sameSite: "lax",
    path: info.callbackPath,
    maxAge: lifetime
  }) as const

/** POST /accounts/<kind>: a new flow for the signed-in person, and off to the service's consent page. */
export const connect = (kind: OAuthKind) =>
  Handler.formPost((form, user) =>
    Effect.gen(function* () {
      const info = services[kind]
      const service = (yield* OAuthConnect)[kind]
      const request = yield* HttpServerRequest.HttpServerRequest
      const browser = randomSecret()
      const name = form.text("name")
      return yield* service
        .start({
          userId: user.id,
          name: name === "" ? Option.none() : Option.some(name),
          browser: Option.some(browser)
        })
        .pipe(
          Effect.map((authorizeUrl) =>
            HttpServerResponse.unsafeSetCookie(
              HttpServerResponse.redirect(authorizeUrl, {
                status: 303,
                headers: { "cache-control": "no-store" }
              }),
              info.flowCookie,
              Redacted.value(browser),
              flowCookieOptions(info, request)
            )
          ),
          Effect.catchTag("OAuthNotConfigured", (e) =>
            Effect.succeed(
              respond(
                page({
                  title: `${info.label} is not set up`,
                  user,
                  area: "accounts",
                  error: `${e.message.charAt(0).toUpperCase()}${e.message.slice(1)}.`,
                  body: html`<p><a href="/accounts">Back to your accounts</a></p>`
                }),
                503
              )
            )
          )
        )
    })
  )

/** The callback's failure in words for the person looking at the browser. */
export const words = (e: OAuthConnectFailed): string => {
  const { label, connect } = services[e.service]
  const again = `Start again with “${connect}” on the Accounts page.`
  switch (e.reason) {
    case "missing-state":
      return `This address did not come from a ${label} sign-in that Almanac started, so nothing was connected. ${again}`
    case "unknown-state":
      return `This sign-in link is not (or no longer) valid: each one works only once. Nothing more was connected; if the account is not listed under Accounts, start again with “${connect}”.`
    case "expired-state":
      return `This sign-in took longer than 10 minutes and expired, so nothing was connected. ${again}`
    case "other-browser":
      return `This sign-in was started in another browser (or its cookie is gone), so it was not finished here. ${again}`
    case "other-user":
      return `This sign-in was started by another Almanac user than the one signed in in this browser, so it was not finished. Each person connects their own ${label} account while signed in as themselves.`
    case "denied":
      return `${label} says access was not allowed, so no ${label} account was connected. To connect one, start again and allow Almanac to see your calendars and manage their events. ${again}`
    case "service-error":
      return `${label} did not finish the sign-in (it answered “${e.detail ?? "an error"}”), so nothing was connected. ${again}`
    case "exchange-refused":
      return `${label} did not accept the sign-in code (it may have been used already, or the client secret is wrong), so nothing was connected. ${again}`
    case "unavailable":
      return `${label} could not be reached or failed while finishing the sign-in, so nothing was connected. Try again in a moment.`
    case "unexpected":
      return `${label}'s answer was not what Almanac expected (${e.detail ?? "unknown"}), so nothing was connected.`
    case "not-configured":
      return `Connecting ${label} is not set up on this server (any more), so nothing was connected.`
  }
}

const statusOf = (e: OAuthConnectFailed): number => {
  switch (e.reason) {
    case "other-browser":
    case "other-user":
      return 403
    case "unavailable":
      return 502
    case "not-configured":
      return 503
    default:
      return 400
  }
}

const header = (request: HttpServerRequest.HttpServerRequest, name: string) =>
  Option.fromNullable(request.cookies[name]).pipe(Option.filter((v) => v !== ""))

/**
 * GET /oauth/<kind>/callback?code&state (or ?error&state): finishes the flow the state names and
 * sends the browser to the new account's page, or says in words why not. The request log line
 * is written here without the query: the code and the state are not for the log.
 */
export const callback = (kind: OAuthKind) => {
  const info = services[kind]
  return Handler.anyone(
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const query = yield* HttpServerRequest.ParsedSearchParams
      const param = (name: string) => {
        const v = query[name]
        return typeof v === "string" && v !== "" ? Option.some(v) : Option.none()
      }
      const signedIn = yield* Session.currentUser
      const service = (yield* OAuthConnect)[kind]
      const done = (response: HttpServerResponse.HttpServerResponse) =>
        HttpServerResponse.expireCookie(response, info.flowCookie, flowCookieOptions(info, request))
      return yield* service
        .finish({
          state: param("state"),
          code: param("code"),
          error: param("error"),
          browser: header(request, info.flowCookie),
          signedIn: Option.map(signedIn, (u) => u.id)
        })
        .pipe(
          Effect.map(({ account, renewed, startedInPages }) => {
            const location = Notice.location(
              `/accounts/${encodeURIComponent(account.id)}`,
              renewed ? (kind === "google" ? "google-renewed" : "microsoft-renewed") : "account-connected"
            )
            // Back from the service's site, a browser leaves the Strict session cookie out of every request
            // of the redirect chain; a navigation our own page starts has it again. A flow started
            // through the API gets the plain redirect scripts rely on.
            if (startedInPages && Option.isNone(signedIn))
              return done(
                respond(
                  page({
                    title: `${info.label} connected`,
                    user: undefined,
                    continueTo: location,
                    body: html`<p><a href="${location}">Continue to the account</a></p>`
                  })
                )
              )
            return done(
              HttpServerResponse.redirect(location, { status: 303, headers: { "cache-control": "no-store" } })
            )
          }),
          Effect.catchTag("OAuthConnectFailed", (e) =>
            Effect.logInfo(`${info.label} connection not finished`, e.reason).pipe(
              Effect.as(
                done(
                  respond(
                    page({
                      title: `${info.label} was not connected`,
                      user: Option.getOrUndefined(signedIn),
                      area: "accounts",
                      error: words(e),
                      body: html`<p><a href="/accounts">Back to your accounts</a></p>`
                    }),
                    statusOf(e)
                  )
                )
              )
            )
          )
        )
    })
  ).pipe(
    Effect.tap((response) =>
      Effect.logInfo("Sent HTTP response").pipe(
        Effect.annotateLogs({
          "http.method": "GET",
          "http.url": info.callbackPath,
          "http.status": response.status
        })
      )
    ),
    HttpMiddleware.withLoggerDisabled
  )
}

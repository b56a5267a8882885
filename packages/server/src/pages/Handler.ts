/**
 * The edge every settings page goes through: a page needs a signed-in person (else it sends them
 * to sign in), a form post must also come from our own pages (else 403), and our own failures
 * become a page that says to try again while the detail goes to the log. Page code below this
 * only ever sees a known user and a parsed form.
 */
import type { SyncStore } from "@almanac/core"
import { HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import type { PageSessions } from "../store/PageSessions.js"
import type { User, Users } from "../store/Users.js"
import * as Form from "./Form.js"
import { html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Session from "./Session.js"

type Response = HttpServerResponse.HttpServerResponse

const failurePage = (user: User | undefined, status: number, title: string, message: string) =>
  respond(
    page({ title, user, error: message, body: html`<p><a href="/">Back to the overview</a></p>` }),
    status
  )

const storeFailed = (user: User | undefined) => (e: SyncStore.StoreError) =>
  Effect.logError("store failure on a settings page", e.operation, e.detail).pipe(
    Effect.as(
      failurePage(user, 500, "Something went wrong", `The server could not ${e.operation}; try again.`)
    )
  )

/** A page that may or may not have someone signed in (the front page). */
export const anyone = <R>(
  effect: Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R> => Effect.catchTag(effect, "StoreError", storeFailed(undefined))

/** A page for a signed-in person; anyone else is sent to the sign-in page. */
export const signedIn = <R>(
  handler: (user: User) => Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R | Users | PageSessions | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const user = yield* Session.currentUser
    if (Option.isNone(user)) return seeOther("/")
    return yield* handler(user.value).pipe(Effect.catchTag("StoreError", storeFailed(user.value)))
  }).pipe(Effect.catchTag("StoreError", storeFailed(undefined)))

/** A form post from our own pages by a signed-in person. */
export const formPost = <R>(
  handler: (form: Form.Form, user: User) => Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R | Users | PageSessions | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!Session.isSameOrigin(request)) return crossSite()
    const user = yield* Session.currentUser
    if (Option.isNone(user)) return seeOther("/")
    const form = yield* Form.read.pipe(Effect.option)
    if (Option.isNone(form)) return unreadable(user.value)
    return yield* handler(form.value, user.value).pipe(Effect.catchTag("StoreError", storeFailed(user.value)))
  }).pipe(Effect.catchTag("StoreError", storeFailed(undefined)))

const notFound = (user: User) => failurePage(user, 404, "Not found", "There is no such page among yours.")

/** A page only the server's owner sees; for anyone else signed in it does not exist. */
export const ownerOnly = <R>(
  handler: (user: User) => Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R | Users | PageSessions | HttpServerRequest.HttpServerRequest> =>
  signedIn((user) => (user.owner ? handler(user) : Effect.succeed(notFound(user))))

/** A form post only the server's owner may make. */
export const ownerPost = <R>(
  handler: (form: Form.Form, user: User) => Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R | Users | PageSessions | HttpServerRequest.HttpServerRequest> =>
  formPost((form, user) => (user.owner ? handler(form, user) : Effect.succeed(notFound(user))))

/** Posts that need no session (signing in), still only from our own pages. */
export const anonymousPost = <R>(
  handler: (
    form: Form.Form,
    request: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<Response, SyncStore.StoreError, R>
): Effect.Effect<Response, never, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!Session.isSameOrigin(request)) return crossSite()
    const form = yield* Form.read.pipe(Effect.option)
    if (Option.isNone(form)) return unreadable(undefined)
    return yield* handler(form.value, request)
  }).pipe(Effect.catchTag("StoreError", storeFailed(undefined)))

const crossSite = () =>
  failurePage(
    undefined,
    403,
    "Not accepted",
    "This form was not sent from Almanac's own pages, so it was refused. Open the page again and resend it."
  )

const unreadable = (user: User | undefined) =>
  failurePage(user, 400, "Not understood", "The form could not be read. Open the page again and resend it.")

/** Unexpected failures (defects) still end in a page, and in the log with their cause. */
export const orCrashPage = <R>(
  effect: Effect.Effect<Response, never, R>
): Effect.Effect<Response, never, R> =>
  Effect.catchAllCause(effect, (cause) =>
    // A request the browser gave up on is not a failure of the page.
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.logError("settings page failed", Cause.pretty(cause)).pipe(
          Effect.as(
            failurePage(undefined, 500, "Something went wrong", "The server failed on this page; try again.")
          )
        )
  )

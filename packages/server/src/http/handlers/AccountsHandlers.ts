/**
 * The accounts endpoints at the HTTP edge: the current user's id goes into every call of the
 * AccountService (which checks ownership), and its typed errors become the API's statuses.
 */

import type { SyncStore } from "@almanac/core"
import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import {
  type AccountNotFound,
  AccountService,
  type AccountWithCalendars,
  type AlreadyConnected,
  type CalendarState,
  type ConnectError
} from "../../app/AccountService.js"
import { OAuthConnect } from "../../app/OAuthConnect.js"
import type { OAuthKind } from "../../app/OAuthService.js"
import type { AccountRecord } from "../../store/Accounts.js"
import { AlmanacApi } from "../Api.js"
import {
  BadRequest,
  Conflict,
  NotFound,
  ServiceUnavailable,
  Unprocessable,
  UpstreamFailed
} from "../ApiError.js"
import * as ApiWords from "../ApiWords.js"
import { CurrentUser } from "../Auth.js"
import { iso, isoOrNull, orInternal } from "./internal.js"

const accountView = (a: AccountRecord) => ({
  id: a.id,
  kind: a.kind,
  name: Option.getOrElse(a.displayName, () => a.username),
  url: a.url,
  username: a.username,
  status: a.status,
  lastError: Option.getOrNull(a.lastError),
  createdAt: iso(a.createdAt)
})

const calendarView = (c: CalendarState) => ({
  id: c.id,
  accountId: c.accountId,
  url: c.url,
  name: Option.getOrNull(c.displayName),
  color: Option.getOrNull(c.color),
  writable: c.writable,
  lastPollAt: isoOrNull(c.lastPollAt),
  lastSuccessAt: isoOrNull(c.lastSuccessAt),
  lastError: Option.getOrNull(c.lastError),
  halted: Option.getOrNull(c.halted),
  quarantined: c.quarantined,
  inRelationship: c.inRelationship
})

const withCalendars = (r: AccountWithCalendars) => ({
  account: accountView(r.account),
  calendars: r.calendars.map(calendarView)
})

type ServiceError = ConnectError | AlreadyConnected | AccountNotFound

const toApi = (e: ServiceError) => {
  switch (e._tag) {
    case "UrlRejected":
      return new BadRequest({ message: e.message, problems: [`url: ${e.reason}`] })
    case "NotAnAppSpecificPassword":
    case "NoPassword": {
      const words = ApiWords.account(e)
      return new BadRequest({ message: words, problems: [words] })
    }
    case "CredentialsRefused":
      return new Unprocessable({ message: ApiWords.account(e) })
    case "FeedUnreadable":
    case "NotCalDav":
    case "NoEventCalendars":
      return new Unprocessable({ message: e.message })
    case "ServerUnreachable":
      return new UpstreamFailed({ message: e.message })
    case "AlreadyConnected":
      return new Conflict({ message: ApiWords.account(e) })
    case "AccountNotFound":
      return new NotFound({ message: e.message })
  }
}

const edge = <A, R>(effect: Effect.Effect<A, ServiceError | SyncStore.StoreError, R>) =>
  orInternal(
    Effect.catchIf(
      effect,
      (e): e is ServiceError => e._tag !== "StoreError",
      (e) => Effect.fail(toApi(e))
    )
  )

/** The optional body of POST /api/accounts/google and …/microsoft: nothing, or `{"name": …}`. */
const ConnectBody = Schema.parseJson(
  Schema.Struct({
    name: Schema.optional(
      Schema.Trim.pipe(
        Schema.minLength(1, { message: () => "name: must not be empty" }),
        Schema.maxLength(200, { message: () => "name: at most 200 characters" })
      )
    )
  })
)

const connectName = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* request.text.pipe(
    Effect.mapError(() => new BadRequest({ message: "the request body could not be read" }))
  )
  if (text.trim() === "") return Option.none<string>()
  const decoded = Schema.decodeUnknownEither(ConnectBody, { onExcessProperty: "error" })(text)
  if (Either.isLeft(decoded)) {
    const problems = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => i.message)
    return yield* new BadRequest({
      message: 'the body must be empty or JSON like {"name": "Work"}',
      problems
    })
  }
  return Option.fromNullable(decoded.right.name)
})

export const accountsLayer = HttpApiBuilder.group(AlmanacApi, "accounts", (handlers) =>
  Effect.gen(function* () {
    const service = yield* AccountService
    const connect = yield* OAuthConnect
    const connectOAuth = (kind: OAuthKind) =>
      Effect.gen(function* () {
        const user = yield* CurrentUser
        const name = yield* connectName
        const authorizeUrl = yield* connect[kind]
          .start({ userId: user.id, name, browser: Option.none() })
          .pipe(Effect.catchTag("OAuthNotConfigured", (e) => new ServiceUnavailable({ message: e.message })))
        return { authorizeUrl }
      }).pipe(orInternal)
    return handlers
      .handle("connectICloud", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return withCalendars(
            yield* service.connectICloud({
              userId: user.id,
              appleId: payload.appleId,
              appSpecificPassword: payload.appSpecificPassword,
              name: Option.fromNullable(payload.name)
            })
          )
        }).pipe(edge)
      )
      .handle("connectCalDav", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return withCalendars(
            yield* service.connectCalDav({
              userId: user.id,
              url: payload.url,
              username: payload.username,
              password: payload.password,
              name: Option.fromNullable(payload.name)
            })
          )
        }).pipe(edge)
      )
      .handle("subscribeFeed", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return withCalendars(
            yield* service.subscribeFeed({
              userId: user.id,
              url: payload.url,
              name: Option.fromNullable(payload.name)
            })
          )
        }).pipe(edge)
      )
      .handle("connectGoogle", () => connectOAuth("google"))
      .handle("connectMicrosoft", () => connectOAuth("microsoft"))
      .handle("listAccounts", () =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return (yield* service.list(user.id)).map(accountView)
        }).pipe(edge)
      )
      .handle("getAccount", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return accountView(yield* service.get(user.id, path.accountId))
        }).pipe(edge)
      )
      .handle("reauthenticate", ({ path, payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return withCalendars(yield* service.reauthenticate(user.id, path.accountId, payload.password))
        }).pipe(edge)
      )
      .handle("refreshAccount", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return withCalendars(yield* service.refresh(user.id, path.accountId))
        }).pipe(edge)
      )
      .handle("removeAccount", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          yield* service.remove(user.id, path.accountId)
        }).pipe(edge)
      )
      .handle("accountCalendars", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return (yield* service.calendars(user.id, path.accountId)).map(calendarView)
        }).pipe(edge)
      )
  })
)

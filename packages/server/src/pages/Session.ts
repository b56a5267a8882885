/**
 * Who is looking at a page, and whether a form post may act for them. Signing in is pasting an
 * API token; it opens a page session (store/PageSessions.ts) and the cookie (HttpOnly,
 * SameSite=Strict, Path=/) holds that session's random secret, never the token: the session
 * expires when idle, ends at sign-out, and ends when the token is revoked.
 *
 * Behind a TLS proxy: the cookie is marked Secure when the request says `X-Forwarded-Proto: https`.
 * A client forging that header can only make its own cookie stricter, so it is honoured without a
 * setting. The cross-site check compares the form's Origin (or Referer) with the Host header, so a
 * proxy must pass Host through unchanged (Caddy does; nginx needs `proxy_set_header Host $host`).
 */

import type { SyncStore } from "@almanac/core"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { PageSessions } from "../store/PageSessions.js"
import { type User, Users } from "../store/Users.js"

export const cookieName = "almanac_session"

/** The signed-in person, if the cookie holds a session that still lasts. */
export const currentUser: Effect.Effect<
  Option.Option<User>,
  SyncStore.StoreError,
  HttpServerRequest.HttpServerRequest | Users | PageSessions
> = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const secret = request.cookies[cookieName]
  if (secret === undefined || secret === "") return Option.none()
  const userId = yield* (yield* PageSessions).userOf(secret)
  if (Option.isNone(userId)) return Option.none()
  return yield* (yield* Users).get(userId.value)
})

const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return value === undefined || value === "" ? undefined : value
}

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host
  } catch {
    return undefined
  }
}

/**
 * True when the form was posted from one of our own pages. Browsers send Origin on every POST
 * (Referer as the fallback for old ones); a request with neither is refused rather than trusted.
 */
export const isSameOrigin = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const host = header(request, "host")
  const from = header(request, "origin") ?? header(request, "referer")
  if (host === undefined || from === undefined) return false
  return hostOf(from) === host.toLowerCase()
}

export const cookieOptions = (request: HttpServerRequest.HttpServerRequest) =>
  ({
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: header(request, "x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https"
  }) as const

/** Opens a session for `userId` (signed in with the token `tokenId`) and puts it in this browser. */
export const signIn = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  who: { readonly userId: string; readonly tokenId: string }
): Effect.Effect<HttpServerResponse.HttpServerResponse, SyncStore.StoreError, PageSessions> =>
  Effect.map(
    Effect.flatMap(PageSessions, (sessions) => sessions.open(who.userId, who.tokenId)),
    (secret) =>
      HttpServerResponse.unsafeSetCookie(response, cookieName, Redacted.value(secret), cookieOptions(request))
  )

/** Ends this browser's session on the server and clears its cookie. */
export const signOut = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<HttpServerResponse.HttpServerResponse, SyncStore.StoreError, PageSessions> =>
  Effect.gen(function* () {
    const secret = request.cookies[cookieName]
    if (secret !== undefined && secret !== "") yield* (yield* PageSessions).close(secret)
    return HttpServerResponse.expireCookie(response, cookieName, cookieOptions(request))
  })

/**
 * Who is looking at a page, and whether a form post may act for them. The session cookie holds
 * the person's API token itself (HttpOnly, SameSite=Strict, Path=/): signing in is pasting a token
 * the admin issued, and revoking that token ends every session that uses it. Nothing about the
 * session is stored on the server.
 *
 * Behind a TLS proxy: the cookie is marked Secure when the request says `X-Forwarded-Proto: https`.
 * A client forging that header can only make its own cookie stricter, so it is honoured without a
 * setting. The cross-site check compares the form's Origin (or Referer) with the Host header, so a
 * proxy must pass Host through unchanged (Caddy does; nginx needs `proxy_set_header Host $host`).
 */

import type { SyncStore } from "@almanac/core"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { type User, Users } from "../store/Users.js"

export const cookieName = "almanac_session"

/** The signed-in person, if the cookie holds a token that is still valid. */
export const currentUser: Effect.Effect<
  Option.Option<User>,
  SyncStore.StoreError,
  HttpServerRequest.HttpServerRequest | Users
> = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const token = request.cookies[cookieName]
  if (token === undefined || token === "") return Option.none()
  const users = yield* Users
  return yield* users.authenticate(Redacted.make(token))
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

/** The response signs the person in with `token` for this browser. */
export const signIn = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  token: Redacted.Redacted<string>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeSetCookie(response, cookieName, Redacted.value(token), cookieOptions(request))

export const signOut = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.expireCookie(response, cookieName, cookieOptions(request))

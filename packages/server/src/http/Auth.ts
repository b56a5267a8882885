/**
 * Who is calling. Users present bearer tokens issued through the admin endpoints; the admin
 * presents ALMANAC_ADMIN_TOKEN. Tokens are compared by hash in constant time, and neither
 * value is ever logged.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { type User, Users } from "../store/Users.js"
import { Forbidden, Unauthenticated } from "./ApiError.js"

export class CurrentUser extends Context.Tag("@almanac/server/CurrentUser")<CurrentUser, User>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()(
  "@almanac/server/Authentication",
  {
    failure: Unauthenticated,
    provides: CurrentUser,
    security: { bearer: HttpApiSecurity.bearer }
  }
) {}

/** The admin token from configuration; none means the admin endpoints are closed. */
export class AdminToken extends Context.Tag("@almanac/server/AdminToken")<
  AdminToken,
  Option.Option<Redacted.Redacted<string>>
>() {}

export class AdminAuthentication extends HttpApiMiddleware.Tag<AdminAuthentication>()(
  "@almanac/server/AdminAuthentication",
  { failure: Forbidden, security: { bearer: HttpApiSecurity.bearer } }
) {}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

export const sameSecret = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>): boolean =>
  timingSafeEqual(digest(Redacted.value(a)), digest(Redacted.value(b)))

export const layer: Layer.Layer<Authentication, never, Users> = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const users = yield* Users
    return {
      bearer: (token) =>
        users.authenticate(token).pipe(
          Effect.catchTag("StoreError", (e) =>
            Effect.logError("token check failed", e.detail).pipe(
              Effect.zipRight(
                Effect.fail(new Unauthenticated({ message: "the token could not be checked; try again" }))
              )
            )
          ),
          Effect.flatMap(
            Option.match({
              onNone: () =>
                Effect.fail(
                  new Unauthenticated({
                    message:
                      "missing or unknown bearer token: send Authorization: Bearer <token> (tokens come from the admin API)"
                  })
                ),
              onSome: Effect.succeed
            })
          )
        )
    }
  })
)

export const adminLayer: Layer.Layer<AdminAuthentication, never, AdminToken> = Layer.effect(
  AdminAuthentication,
  Effect.gen(function* () {
    const admin = yield* AdminToken
    return {
      bearer: (token) =>
        Option.match(admin, {
          onNone: () =>
            Effect.fail(
              new Forbidden({ message: "admin endpoints are closed: set ALMANAC_ADMIN_TOKEN to open them" })
            ),
          onSome: (expected) =>
            sameSecret(token, expected)
              ? Effect.void
              : Effect.fail(
                  new Forbidden({ message: "this endpoint needs the admin token (ALMANAC_ADMIN_TOKEN)" })
                )
        })
    }
  })
)

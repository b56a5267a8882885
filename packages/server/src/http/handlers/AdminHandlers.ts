import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { Users } from "../../store/Users.js"
import { AlmanacApi } from "../Api.js"
import { NotFound } from "../ApiError.js"
import { iso, isoOrNull, orInternal } from "./internal.js"

export const adminLayer = HttpApiBuilder.group(AlmanacApi, "admin", (handlers) =>
  Effect.gen(function* () {
    const users = yield* Users
    const existing = (userId: string) =>
      users.get(userId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new NotFound({ message: `no user ${userId}` })),
            onSome: Effect.succeed
          })
        )
      )
    const view = (u: { id: string; name: string; createdAt: number }) => ({
      id: u.id,
      name: u.name,
      createdAt: iso(u.createdAt)
    })
    return handlers
      .handle("createUser", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* users.create(payload.name)
          const token = yield* users.issueToken(user.id, payload.tokenLabel ?? "first token")
          yield* Effect.logInfo("user created", user.id)
          return { user: view(user), token: { id: token.id, token: Redacted.value(token.token) } }
        }).pipe(orInternal)
      )
      .handle("listUsers", () =>
        users.list.pipe(
          Effect.map((all) => all.map(view)),
          orInternal
        )
      )
      .handle("issueToken", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* existing(path.userId)
          const token = yield* users.issueToken(path.userId, payload.label ?? "")
          return { id: token.id, token: Redacted.value(token.token) }
        }).pipe(orInternal)
      )
      .handle("listTokens", ({ path }) =>
        Effect.gen(function* () {
          yield* existing(path.userId)
          const tokens = yield* users.tokens(path.userId)
          return tokens.map((t) => ({
            id: t.id,
            label: t.label,
            createdAt: iso(t.createdAt),
            lastUsedAt: isoOrNull(t.lastUsedAt)
          }))
        }).pipe(orInternal)
      )
      .handle("revokeToken", ({ path }) =>
        Effect.gen(function* () {
          const revoked = yield* users.revokeToken(path.userId, path.tokenId)
          if (!revoked)
            return yield* new NotFound({ message: `user ${path.userId} has no token ${path.tokenId}` })
        }).pipe(orInternal)
      )
  })
)

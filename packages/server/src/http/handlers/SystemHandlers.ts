import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { AlmanacApi } from "../Api.js"
import { CurrentUser } from "../Auth.js"
import { iso } from "./internal.js"

export const version = "0.1.0"

export const systemLayer = HttpApiBuilder.group(AlmanacApi, "system", (handlers) =>
  handlers.handle("health", () => Effect.succeed({ status: "ok" as const, version }))
)

export const meLayer = HttpApiBuilder.group(AlmanacApi, "me", (handlers) =>
  handlers.handle("me", () =>
    Effect.map(CurrentUser, (u) => ({ id: u.id, name: u.name, createdAt: iso(u.createdAt) }))
  )
)

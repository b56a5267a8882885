/** Liveness and who-am-I: what a deployment check and a fresh token holder ask first. */
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { InternalError } from "../ApiError.js"
import { Authentication } from "../Auth.js"

export const Health = Schema.Struct({ status: Schema.Literal("ok"), version: Schema.String })

export const UserView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  createdAt: Schema.String.annotations({ description: "ISO 8601" })
})

export class SystemGroup extends HttpApiGroup.make("system").add(
  HttpApiEndpoint.get("health", "/health").addSuccess(Health)
) {}

export class MeGroup extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/me").addSuccess(UserView))
  .addError(InternalError)
  .middleware(Authentication) {}

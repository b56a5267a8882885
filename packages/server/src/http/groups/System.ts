/** Liveness and who-am-I: what a deployment check and a fresh token holder ask first. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { InternalError } from "../ApiError.js"
import { Authentication } from "../Auth.js"

export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String.annotations({ description: "the server's version" })
}).annotations({ identifier: "Health" })

export const UserView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  createdAt: Schema.String.annotations({ description: "ISO 8601" })
})

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "Is the server up?")
      .annotate(
        OpenApi.Description,
        'A liveness check for load balancers, systemd and uptime monitors; no token needed. It answers 200 with `{"status":"ok","version":…}` whenever the process is running and its HTTP server takes requests, including while calendars fail to sync: it does not ask the database or any calendar server. It is not 200 only when the server is not there: the connection is refused or hangs (not started, stopping, or still starting up) or a proxy in front answers for it (502, 503, 504). How syncing goes is in `GET /api/status` and, for monitoring, in the Prometheus metrics at `/metrics`.'
      )
  )
  .annotate(OpenApi.Description, "Whether the server is up; no token needed.") {}

export class MeGroup extends HttpApiGroup.make("me")
  .add(
    HttpApiEndpoint.get("me", "/me")
      .addSuccess(UserView)
      .annotate(OpenApi.Summary, "Who this token belongs to")
  )
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "The user a token belongs to: the first thing to ask with a new token.") {}

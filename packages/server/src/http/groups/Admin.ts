/** The admin's endpoints (ALMANAC_ADMIN_TOKEN): people and their API tokens. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { BadRequest, InternalError, NotFound } from "../ApiError.js"
import { AdminAuthentication } from "../Auth.js"
import { strict } from "../Payload.js"
import { UserView } from "./System.js"

const UserId = Schema.Struct({ userId: Schema.String })

export const IssuedToken = Schema.Struct({
  id: Schema.String,
  token: Schema.String.annotations({ description: "shown once; only its hash is stored" })
})

export const TokenView = Schema.Struct({
  id: Schema.String,
  label: Schema.String,
  createdAt: Schema.String,
  lastUsedAt: Schema.NullOr(Schema.String)
})

const Name = Schema.Trim.pipe(
  Schema.minLength(1, { message: () => "name: must not be empty" }),
  Schema.maxLength(200, { message: () => "name: at most 200 characters" })
)
const Label = Schema.Trim.pipe(Schema.maxLength(200, { message: () => "label: at most 200 characters" }))

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.post("createUser", "/admin/users")
      .setPayload(strict(Schema.Struct({ name: Name, tokenLabel: Schema.optional(Label) })))
      .addSuccess(Schema.Struct({ user: UserView, token: IssuedToken }), { status: 201 })
      .annotate(OpenApi.Summary, "Create a user and its first API token")
  )
  .add(
    HttpApiEndpoint.get("listUsers", "/admin/users")
      .addSuccess(Schema.Array(UserView))
      .annotate(OpenApi.Summary, "All users")
  )
  .add(
    HttpApiEndpoint.post("issueToken", "/admin/users/:userId/tokens")
      .setPath(UserId)
      .setPayload(strict(Schema.Struct({ label: Schema.optional(Label) })))
      .addSuccess(IssuedToken, { status: 201 })
      .annotate(OpenApi.Summary, "Issue another API token for a user")
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.get("listTokens", "/admin/users/:userId/tokens")
      .setPath(UserId)
      .addSuccess(Schema.Array(TokenView))
      .annotate(OpenApi.Summary, "A user's API tokens (never the tokens themselves)")
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.del("revokeToken", "/admin/users/:userId/tokens/:tokenId")
      .setPath(Schema.Struct({ userId: Schema.String, tokenId: Schema.String }))
      .addSuccess(Schema.Void, { status: 204 })
      .annotate(OpenApi.Summary, "Revoke an API token")
      .addError(NotFound)
  )
  .addError(BadRequest)
  .addError(InternalError)
  .middleware(AdminAuthentication)
  .annotate(
    OpenApi.Description,
    "People and their API tokens. Needs the admin token (ALMANAC_ADMIN_TOKEN) as the bearer token; closed when it is not set."
  ) {}

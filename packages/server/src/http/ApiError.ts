/**
 * The API's errors: each a status and a body that says what to fix. Handlers map domain errors
 * to these at the edge; nothing below the HTTP layer knows about status codes.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** 400: the request itself is wrong; `problems` lists each field to fix. */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  { message: Schema.String, problems: Schema.optional(Schema.Array(Schema.String)) },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** 401: no token, or a token that is not (or no longer) valid. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()(
  "Unauthenticated",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

/** 403: a valid token that may not do this (a user token on an admin endpoint). */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/** 404: no such thing, or it belongs to someone else (the two are indistinguishable on purpose). */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** 409: the request clashes with the current state (an idempotency key reused with other content, a changed event). */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/** 422: the calendar server refused what we sent on the user's behalf (wrong password, not a calendar). */
export class Unprocessable extends Schema.TaggedError<Unprocessable>()(
  "Unprocessable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 422 })
) {}

/** 502: the calendar server could not be reached or failed; retrying later may work. */
export class UpstreamFailed extends Schema.TaggedError<UpstreamFailed>()(
  "UpstreamFailed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {}

/** 503: the server is not set up for this (connecting Google without a client id); `message` says what to set. */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** 500: our own failure (a database error); the log has the detail, the body never does. */
export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

/**
 * What can go wrong when the engine talks to a calendar, as the engine sees it. Each error has
 * exactly one recovery in the calendar actor (see docs/design.md); providers translate their own
 * protocol errors into these.
 */
import { Schema } from "effect"

/** The change-feed cursor (sync token, delta link) was rejected: resync as a merge. */
export class TokenInvalid extends Schema.TaggedError<TokenInvalid>()("TokenInvalid", {
  calendar: Schema.String,
  detail: Schema.String
}) {}

/** A conditional write lost a race (HTTP 412): refetch, re-plan, retry once. */
export class EtagMismatch extends Schema.TaggedError<EtagMismatch>()("EtagMismatch", {
  ref: Schema.String
}) {}

/**
 * A create found a copy already under its key (most often our own create that crashed before it
 * was recorded): `ref` is where it is, so the engine can adopt it when it is ours.
 */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  ref: Schema.String
}) {}

/** Credentials were refused: park the calendar and ask for re-authentication. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  calendar: Schema.String,
  detail: Schema.String
}) {}

/** The server asks us to slow down; `retryAfterMillis` when it said how long. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  calendar: Schema.String,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}

/** Network trouble, timeouts, 5xx, or an answer we could not read: back off and try again. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  calendar: Schema.String,
  detail: Schema.String
}) {}

/** The item is not there (a write to a copy someone deleted, a GET of a vanished item). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  ref: Schema.String
}) {}

/** The target already holds another object with this UID (a write that would duplicate). */
export class UidConflict extends Schema.TaggedError<UidConflict>()("UidConflict", {
  ref: Schema.String,
  detail: Schema.String
}) {}

/** The server refused this one item for a reason retrying will not fix (invalid data, 403): recorded, not retried. */
export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", {
  ref: Schema.String,
  detail: Schema.String
}) {}

export type ProviderError =
  | TokenInvalid
  | EtagMismatch
  | AlreadyExists
  | Unauthorized
  | RateLimited
  | Transient
  | NotFound
  | UidConflict
  | Rejected

/** Errors that end a poll (as opposed to errors of one write, handled item by item). */
export type PollError = TokenInvalid | Unauthorized | RateLimited | Transient

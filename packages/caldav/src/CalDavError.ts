/**
 * What can go wrong talking to a CalDAV server, one class per thing a caller does differently.
 * Every error names the request (`method`, `url`); URLs never carry credentials.
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

const Request = {
  method: Schema.String,
  url: Schema.String
}

const where = (e: { readonly method: string; readonly url: string }) => `${e.method} ${e.url}`

/** The server rejected the sync token (403/409/410/400, a `valid-sync-token` precondition, or a 500 after a token was sent): resync in full. */
export class TokenInvalid extends Schema.TaggedError<TokenInvalid>()("TokenInvalid", {
  ...Request,
  status: Schema.Number,
  token: Schema.String
}) {
  override get message() {
    return `sync token rejected with status ${this.status} (${where(this)})`
  }
}

/** 412: the If-Match etag is stale, or If-None-Match: * met an existing resource. */
export class EtagMismatch extends Schema.TaggedError<EtagMismatch>()("EtagMismatch", {
  ...Request,
  status: Schema.Number
}) {
  override get message() {
    return `precondition failed: the resource changed or already exists (${where(this)})`
  }
}

/** 401: wrong or revoked credentials. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  ...Request,
  status: Schema.Number
}) {
  override get message() {
    return `not authorised (status ${this.status}): check the user name and (app-specific) password (${where(this)})`
  }
}

/** 404/410 on the resource or collection the request named. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  ...Request,
  status: Schema.Number
}) {
  override get message() {
    return `not found (status ${this.status}) (${where(this)})`
  }
}

/** The server refuses the write because another resource of the collection has the same UID. */
export class UidConflict extends Schema.TaggedError<UidConflict>()("UidConflict", {
  ...Request,
  status: Schema.Number,
  /** The href holding the UID already, when the server says. */
  existing: Schema.OptionFromSelf(Schema.String)
}) {
  override get message() {
    return `another resource already has this UID${Option.match(this.existing, {
      onNone: () => "",
      onSome: (h) => ` (${h})`
    })} (${where(this)})`
  }
}

/** 429 or 503: wait `retryAfter` when given, otherwise back off. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...Request,
  status: Schema.Number,
  retryAfter: Schema.OptionFromSelf(Schema.DurationFromSelf)
}) {
  override get message() {
    return `rate limited (status ${this.status}${Option.match(this.retryAfter, {
      onNone: () => "",
      onSome: (d) => `, retry after ${Duration.format(d)}`
    })}) (${where(this)})`
  }
}

/** Network failure, timeout or 5xx: try again later with backoff. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  ...Request,
  status: Schema.OptionFromSelf(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    return `temporary failure: ${this.reason} (${where(this)})`
  }
}

/**
 * The server refused this request for a reason that retrying will not fix: 400, 403 (e.g. iCloud
 * on invalid iCalendar data), 405, 415 and other 4xx. `conditions` lists the WebDAV/CalDAV
 * preconditions the body named (e.g. "supported-report" for a server without sync-collection).
 */
export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", {
  ...Request,
  status: Schema.Number,
  conditions: Schema.Array(Schema.String),
  detail: Schema.String
}) {
  override get message() {
    const conds = this.conditions.length > 0 ? ` [${this.conditions.join(", ")}]` : ""
    return `request refused with status ${this.status}${conds}${this.detail === "" ? "" : `: ${this.detail}`} (${where(this)})`
  }
}

/** The server answered, but not in a way we can use; `reason` says what was wrong with the answer. */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", {
  ...Request,
  status: Schema.OptionFromSelf(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    return `unusable answer: ${this.reason} (${where(this)})`
  }
}

export type CalDavError =
  | TokenInvalid
  | EtagMismatch
  | Unauthorized
  | NotFound
  | UidConflict
  | RateLimited
  | Transient
  | Rejected
  | ProtocolError

export const CalDavError = Schema.Union(
  TokenInvalid,
  EtagMismatch,
  Unauthorized,
  NotFound,
  UidConflict,
  RateLimited,
  Transient,
  Rejected,
  ProtocolError
)

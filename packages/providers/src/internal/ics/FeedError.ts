/**
 * Why a feed could not be read, as data: the API and pages put it in words once, and the provider
 * turns it into the engine's poll errors. Never carries the feed's credentials (`url` is shown).
 */
import * as Schema from "effect/Schema"

export const FeedReason = Schema.Literal(
  /** The URL check (or the scheme) refused the URL or a redirect hop. */
  "refused-url",
  "too-many-redirects",
  /** Larger than the limit: refused, not cut (a cut feed would look like deleted events). */
  "too-large",
  /** A 2xx whose body is no iCalendar (an HTML login page, an empty answer, a cut-off file). */
  "not-icalendar",
  "unauthorized",
  "not-found",
  "rate-limited",
  "http-status",
  "network",
  "timeout"
)
export type FeedReason = typeof FeedReason.Type

export class FeedFailed extends Schema.TaggedError<FeedFailed>()("FeedFailed", {
  /** Without user name and password. */
  url: Schema.String,
  reason: FeedReason,
  /** In words for the person who subscribed. */
  detail: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  override get message() {
    return `the feed at ${this.url} could not be read: ${this.detail}`
  }
}

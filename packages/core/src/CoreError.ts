/**
 * Errors of the core domain, as values carrying what a caller needs to act on them.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One calendar object could not be read. The actor quarantines it (by ref), syncs the rest
 * and shows `reason` in the calendar's status.
 */
export class BadItem extends Schema.TaggedError<BadItem>()("BadItem", {
  ref: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.ref}: ${this.reason}`
  }
}

/**
 * @almanac/core: the event model, the iCalendar codec, sync policies, content hashes and
 * free/busy.
 *
 * @since 0.1.0
 */
export * as ContentHash from "./ContentHash.js"
export * as CoreError from "./CoreError.js"
export * as EventModel from "./EventModel.js"
export * as FreeBusy from "./FreeBusy.js"
export * as ICalCodec from "./ICalCodec.js"
export * as Policy from "./Policy.js"
export * as Recurrence from "./Recurrence.js"

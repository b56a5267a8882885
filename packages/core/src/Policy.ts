/**
 * A relationship's field policy: how a source resource becomes the copy we write.
 *
 * The model already leaves out what is never synced (alarms, attachments, conference data,
 * categories, colour, X- properties, PARTSTAT), so a copy built from it cannot carry them.
 * This module adds privacy, transparency and the attendee rules on top.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as EventModel from "./EventModel.js"

export const SyncPolicy = Schema.Struct({
  /** "Mark as private": SUMMARY "Busy", no description, location or people, CLASS PRIVATE. */
  markPrivate: Schema.Boolean,
  /** Keep the source's TRANSP or force one. */
  transp: Schema.Literal("keep", "opaque", "transparent"),
  /** Copy ORGANIZER and ATTENDEEs (off by default: copied attendees can be invited). */
  attendees: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
export type SyncPolicy = typeof SyncPolicy.Type

/** Decodes a policy from stored JSON (attendees default to off). */
export const decodePolicy = Schema.decodeUnknownEither(SyncPolicy)

export const defaultPolicy: SyncPolicy = { markPrivate: false, transp: "keep", attendees: false }

export const PRIVATE_SUMMARY = "Busy"

export interface CopyOptions {
  /**
   * Mark copied ORGANIZER/ATTENDEEs with SCHEDULE-AGENT=CLIENT so a CalDAV server never sends
   * invitations for them (default true). Providers that map the model to their own API can
   * ignore it.
   */
  readonly scheduleAgentClient?: boolean
  /** UID of the copy (default: the source's). iCloud refuses one UID in two calendars of an account. */
  readonly uid?: string
}

const copyEvent = (
  e: EventModel.VEvent,
  policy: SyncPolicy,
  uid: string,
  scheduleAgentClient: boolean
): EventModel.VEvent => {
  const keepPeople = policy.attendees && !policy.markPrivate
  const person = (a: EventModel.Attendee): EventModel.Attendee =>
    scheduleAgentClient ? { ...a, scheduleAgent: Option.some("CLIENT") } : a
  const transp: Option.Option<EventModel.Transparency> =
    policy.transp === "keep" ? e.transp : Option.some(policy.transp === "opaque" ? "OPAQUE" : "TRANSPARENT")
  return {
    uid,
    recurrenceId: e.recurrenceId,
    summary: policy.markPrivate ? Option.some(PRIVATE_SUMMARY) : e.summary,
    description: policy.markPrivate ? Option.none() : e.description,
    location: policy.markPrivate ? Option.none() : e.location,
    start: e.start,
    end: e.end,
    allDay: e.allDay,
    rrule: e.rrule,
    rdates: e.rdates,
    exdates: e.exdates,
    status: e.status,
    class: policy.markPrivate ? Option.some("PRIVATE") : e.class,
    transp,
    // An ORGANIZER without attendees still makes some servers treat the copy as an invitation.
    organizer: keepPeople ? Option.map(e.organizer, person) : Option.none(),
    attendees: keepPeople ? e.attendees.map(person) : [],
    sequence: e.sequence,
    lastModified: Option.none()
  }
}

/**
 * The copy of `source` under `policy`, tagged with `origin`. Applies to the master and to
 * every override, so no instance keeps what the series hides.
 */
export const toCopy = (
  source: EventModel.EventResource,
  policy: SyncPolicy,
  origin: EventModel.CopyOrigin,
  options?: CopyOptions
): EventModel.EventResource => {
  const uid = options?.uid ?? source.uid
  const agent = options?.scheduleAgentClient ?? true
  return {
    uid,
    master: Option.map(source.master, (e) => copyEvent(e, policy, uid, agent)),
    overrides: source.overrides.map((e) => copyEvent(e, policy, uid, agent)),
    timezones: source.timezones,
    origin: Option.some(origin)
  }
}

/** The copy with SEQUENCE set on every event; the engine bumps it on each update it writes. */
export const withSequence = (copy: EventModel.EventResource, sequence: number): EventModel.EventResource => ({
  ...copy,
  master: Option.map(copy.master, (e) => ({ ...e, sequence })),
  overrides: copy.overrides.map((e) => ({ ...e, sequence }))
})

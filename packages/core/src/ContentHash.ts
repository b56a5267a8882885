/**
 * A stable hash of a resource's synced content, so the engine can tell "nothing changed"
 * without writing. DTSTAMP, SEQUENCE and LAST-MODIFIED are left out (they change without the
 * content changing, and SEQUENCE is ours to bump), and so are the VTIMEZONE texts: the TZIDs
 * and wall times are hashed, and a zone definition rewritten by a server is no change.
 * Order that carries no meaning (overrides, attendees, EXDATE, RDATE) is normalised.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Option from "effect/Option"
import type * as EventModel from "./EventModel.js"

/** Bumped whenever the canonical form changes, so stored hashes are recognisably stale. */
export const VERSION = "v1"

type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [k: string]: Json }

const opt = <A>(o: Option.Option<A>, f: (a: A) => Json): Json => (Option.isSome(o) ? f(o.value) : null)

const dateValue = (d: EventModel.DateValue): Json => {
  const base = `${d.year}-${d.month}-${d.day}`
  switch (d._tag) {
    case "Date":
      return `D:${base}`
    case "UtcDateTime":
      return `U:${base}T${d.hour}:${d.minute}:${d.second}`
    case "ZonedDateTime":
      return `Z:${d.tzid}:${base}T${d.hour}:${d.minute}:${d.second}`
    case "FloatingDateTime":
      return `F:${base}T${d.hour}:${d.minute}:${d.second}`
  }
}

const attendee = (a: EventModel.Attendee): Json => [
  a.address.toLowerCase(),
  opt(a.name, (n) => n),
  opt(a.scheduleAgent, (s) => s)
]

/** Rule parts in a fixed order, so `COUNT=3;FREQ=DAILY` and `FREQ=DAILY;COUNT=3` hash alike. */
const rule = (text: string): Json =>
  text
    .split(";")
    .map((p) => p.trim().toUpperCase())
    .filter((p) => p !== "")
    .sort()
    .join(";")

const sortedStrings = (xs: ReadonlyArray<Json>): ReadonlyArray<Json> =>
  xs.map((x) => JSON.stringify(x)).sort()

const event = (e: EventModel.VEvent): Json => [
  e.uid,
  opt(e.recurrenceId, dateValue),
  opt(e.summary, (s) => s),
  opt(e.description, (s) => s),
  opt(e.location, (s) => s),
  dateValue(e.start),
  dateValue(e.end),
  opt(e.rrule, rule),
  sortedStrings(e.rdates.map(dateValue)),
  sortedStrings(e.exdates.map(dateValue)),
  opt(e.status, (s) => s),
  opt(e.class, (s) => s),
  opt(e.transp, (s) => s),
  opt(e.organizer, attendee),
  sortedStrings(e.attendees.map(attendee))
]

/** The canonical form that is hashed; exposed for debugging a hash mismatch. */
export const canonical = (resource: EventModel.EventResource): string =>
  JSON.stringify([
    VERSION,
    resource.uid,
    opt(resource.master, event),
    sortedStrings(resource.overrides.map(event)),
    opt(resource.origin, (o) => [o.relationship, o.sourceUid])
  ])

/** `v1:` followed by the hex SHA-256 of the canonical form. */
export const of = (resource: EventModel.EventResource): string =>
  `${VERSION}:${createHash("sha256").update(canonical(resource)).digest("hex")}`

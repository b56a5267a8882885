import { describe, expect, it } from "@effect/vitest"
import {
  AlreadyConnected,
  CredentialsRefused,
  NoPassword,
  NotAnAppSpecificPassword
} from "../src/app/AccountService.js"
import {
  CalendarNotFound,
  CleanupFailed,
  InvalidRelationship,
  RelationshipNotFound
} from "../src/app/RelationshipService.js"
import { CalendarFailed, InvalidRequest, NeedsReauth, StateConflict } from "../src/app/SchedulingError.js"
import { ConfirmFailed, NothingToConfirm, NotSynced } from "../src/app/StatusService.js"
import * as ApiWords from "../src/http/ApiWords.js"
import * as Problems from "../src/pages/Problems.js"

const invalid = new InvalidRelationship({
  problems: [
    { reason: "ReadOnlyTarget", calendarId: "c1", calendarName: "Holidays" },
    { reason: "ReadOnlySource", calendarId: "c2", calendarName: "Shared" }
  ]
})

const keyProblems = new InvalidRequest({
  problems: [
    { reason: "Required", field: "Idempotency-Key" },
    { reason: "NotAnInstant", field: "start", given: "tomorrow" },
    { reason: "UnknownZone", field: "zone", given: "Mars/Olympus" }
  ]
})
const reused = new StateConflict({ reason: "KeyReused", bookingId: "b1", calendarId: "c1" })
const pending = new CalendarFailed({
  calendarId: "c1",
  calendarName: "Work",
  detail: "the server answered 503",
  pendingBookingId: "b1"
})

describe("error words are written at the edges from the data", () => {
  it("scheduling errors: the API names the header, the fields and what to send again", () => {
    expect(keyProblems.problems.map(ApiWords.requestProblem)).toEqual([
      "Idempotency-Key header: required; send a fresh unique value (e.g. a UUID) per booking and the same value when retrying it",
      'start: "tomorrow" is not an ISO 8601 date-time with Z or an offset (e.g. 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00)',
      'zone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, UTC)'
    ])
    expect(ApiWords.stateConflict(reused)).toBe(
      "this Idempotency-Key was already used for a different booking request (booking b1); send a new key for a new booking, or the same body to get that booking again"
    )
    expect(ApiWords.calendarFailed(pending)).toBe(
      'the calendar server failed: calendar "Work" (c1): the server answered 503; booking b1 is recorded as pending: send the same request with the same Idempotency-Key again to complete it'
    )
    // The data still says what happened, for logs, without the API's instructions.
    expect(reused.message).toContain("KeyReused")
    expect(pending.message).not.toContain("Idempotency-Key")
    expect(keyProblems.message).not.toContain("UUID")
  })

  it("InvalidRelationship: the API and the page each word both problems", () => {
    const api = ApiWords.relationship(invalid)
    expect(api.problems).toEqual([
      'targetCalendarId: "Holidays" is read-only for its account, so no copy can be written there; choose a calendar you can edit',
      'direction: "Shared" is read-only for its account, so a two-way sync cannot write back to it; sync one way from it'
    ])
    expect(api.message).toBe(api.problems?.join("; "))
    const page = Problems.relationship(invalid)
    expect(page).toContain("“Holidays” is read-only")
    expect(page).toContain("“Shared” is read-only")
    expect(page).not.toContain("targetCalendarId")
  })

  it("NeedsReauth: the API says where to send the password, the class does not", () => {
    const e = new NeedsReauth({ accountId: "a1", detail: "the server refused the password" })
    expect(ApiWords.needsReauth(e)).toContain("PUT /api/accounts/a1/password")
  })

  it("account errors: the API says what to send next, the page what to click", () => {
    const google = new CredentialsRefused({ kind: "google", url: "https://www.googleapis.com/" })
    expect(ApiWords.account(google)).toContain("POST /api/accounts/google")
    expect(Problems.connect(google)).not.toContain("/api/")
    const twice = new AlreadyConnected({ accountId: "a1", name: "Work" })
    expect(ApiWords.account(twice)).toContain("PUT /api/accounts/a1/password")
    expect(Problems.connect(twice)).toContain("“Work”")
    const caldav = new CredentialsRefused({ kind: "caldav", url: "https://dav.example/" })
    expect(Problems.connect(caldav)).toContain("refused the user name or password")
  })

  it("the classes' messages name no endpoint", () => {
    const errors = [
      invalid,
      new InvalidRelationship({ problems: [{ reason: "AlreadyMirrored", relationshipId: "r1" }] }),
      new InvalidRelationship({
        problems: [{ reason: "DirectionFixed", current: "one-way", wanted: "two-way" }]
      }),
      new CalendarNotFound({ field: "sourceCalendarId", calendarId: "c9" }),
      new RelationshipNotFound({ relationshipId: "r9" }),
      new CleanupFailed({ reason: "Transient", detail: "ECONNREFUSED", removedSoFar: 2 }),
      new NotSynced({ calendarId: "c1" }),
      new NothingToConfirm({ calendarId: "c1" }),
      new ConfirmFailed({ calendarId: "c1", detail: "timeout" }),
      new NeedsReauth({ accountId: "a1", detail: "the server refused the password" }),
      new NotAnAppSpecificPassword(),
      new CredentialsRefused({ kind: "google", url: "https://www.googleapis.com/" }),
      new CredentialsRefused({ kind: "caldav", url: "https://dav.example/" }),
      new AlreadyConnected({ accountId: "a1", name: "Work" }),
      new NoPassword({ accountId: "a1", kind: "microsoft" }),
      keyProblems,
      reused,
      pending
    ]
    for (const e of errors) {
      expect(e.message).not.toContain("/api/")
      expect(e.message).not.toMatch(/\b(PUT|POST|PATCH|DELETE|GET) /)
    }
  })
})

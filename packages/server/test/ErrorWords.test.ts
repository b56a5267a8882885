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
import { NeedsReauth } from "../src/app/SchedulingError.js"
import { ConfirmFailed, NothingToConfirm, NotSynced } from "../src/app/StatusService.js"
import * as ApiWords from "../src/http/ApiWords.js"
import * as Problems from "../src/pages/Problems.js"

const invalid = new InvalidRelationship({
  problems: [
    { reason: "ReadOnlyTarget", calendarId: "c1", calendarName: "Holidays" },
    { reason: "ReadOnlySource", calendarId: "c2", calendarName: "Shared" }
  ]
})

describe("error words are written at the edges from the data", () => {
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
      new NoPassword({ accountId: "a1", kind: "microsoft" })
    ]
    for (const e of errors) {
      expect(e.message).not.toContain("/api/")
      expect(e.message).not.toMatch(/\b(PUT|POST|PATCH|DELETE|GET) /)
    }
  })
})

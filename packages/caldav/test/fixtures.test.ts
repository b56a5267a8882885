/**
 * Pure parser tests over every file in test/fixtures/icloud: no network, only the XML layer
 * and the interpretation of what iCloud sends.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Calendars from "../src/internal/calendars.js"
import { classify } from "../src/internal/classify.js"
import * as Multistatus from "../src/internal/multistatus.js"
import * as Xml from "../src/internal/xml.js"
import { fixture, fixtureNames, rawHttpFixture } from "./support/replay.js"

const FRONT = "https://caldav.icloud.com/"
const PARTITION = "https://p62-caldav.icloud.com/"

const parse = (name: string, base: string): Multistatus.Multistatus => {
  const r = Multistatus.parse(fixture(name), base)
  if (Either.isLeft(r)) throw new Error(`${name}: ${r.left}`)
  return r.right
}

const only = (ms: Multistatus.Multistatus): Multistatus.PropResponse => {
  expect(ms.responses).toHaveLength(1)
  const [r] = ms.responses
  if (r === undefined) throw new Error("no response")
  return r
}

/** Wraps iCalendar text in a multiget answer the two ways iCloud sends it. */
const multigetAnswer = (ics: string, style: "cdata" | "cr-reference") => {
  const data = style === "cdata" ? `<![CDATA[${ics}]]>` : Xml.escapeText(ics).replace(/\r\n/g, "&#13;\n")
  return `<?xml version="1.0" encoding="UTF-8"?><multistatus xmlns="DAV:"><response xmlns="DAV:"><href>/1/calendars/c/e.ics</href><propstat><prop><getetag xmlns="DAV:">"e1"</getetag><calendar-data xmlns="urn:ietf:params:xml:ns:caldav">${data}</calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`
}

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n")

const checks: Record<string, () => void> = {
  "kashcal__caldav__icloud__01_current_user_principal.xml": () => {
    const r = only(parse("kashcal__caldav__icloud__01_current_user_principal.xml", FRONT))
    expect(r.href).toBe(FRONT)
    expect(Calendars.hrefIn(r, Xml.DAV, "current-user-principal", FRONT)).toEqual(
      Option.some(`${FRONT}123456789/principal/`)
    )
  },
  "kashcal__caldav__icloud__02_calendar_home_set.xml": () => {
    const r = only(parse("kashcal__caldav__icloud__02_calendar_home_set.xml", FRONT))
    // absolute on the partition host; the explicit :443 is the default port and normalises away
    expect(Calendars.hrefIn(r, Xml.CALDAV, "calendar-home-set", FRONT)).toEqual(
      Option.some("https://p180-caldav.icloud.com/123456789/calendars/")
    )
  },
  "kashcal__caldav__icloud__03_calendar_list.xml": () => {
    const home = `${PARTITION}123456789/calendars/`
    const ms = parse("kashcal__caldav__icloud__03_calendar_list.xml", home)
    expect(ms.responses).toHaveLength(7)
    const calendars = Calendars.eventCalendars(ms, home)
    expect(calendars.map((c) => [c.url, c.displayName, c.color])).toEqual([
      [
        `${home}4D24D1CF-D573-4130-BFB7-F9E0B616E6FE/`,
        Option.some("Personal Calendar"),
        Option.some("#1E4C63FF")
      ],
      [`${home}work/`, Option.some("Work Calendar"), Option.some("#FFFFFFFF")]
    ])
    const work = calendars[1]
    expect(work?.ctag).toEqual(
      Option.some("HwoQEgwAADqPgF7KFwACAAEYAhgAIhYIt4O1qdSq7tvJARDlm7Souo26948BKABIAA==")
    )
    expect(work?.components).toEqual(["VEVENT"])
    expect(work?.privileges).toEqual(
      expect.arrayContaining([
        "read",
        "read-free-busy",
        "write",
        "write-properties",
        "write-content",
        "bind",
        "unbind"
      ])
    )
    // the outbox's empty 404 getctag did not become a value, and never shadows a 200 one
    const outbox = ms.responses.find((r) => r.href.endsWith("/outbox/"))
    expect(outbox && Multistatus.propText(outbox, Xml.CALSERVER, "getctag")).toEqual(Option.none())
    const inbox = ms.responses.find((r) => r.href.endsWith("/inbox/"))
    expect(inbox && Multistatus.propText(inbox, Xml.CALSERVER, "getctag")).toEqual(
      Option.some("HwoQEgwAABRXSnH4wAAAAAAYARgAIhYIlJWJuJ/wxPK+ARDw/7qy0qHOx4MBKABIAA==")
    )
    // the Reminders list is a calendar, but VTODO only
    const tasks = ms.responses.find((r) => r.href.endsWith("/tasks/"))
    expect(tasks && Calendars.isCalendar(tasks)).toBe(true)
    expect(tasks && Calendars.toCalendarInfo(tasks).components).toEqual(["VTODO"])
  },
  "kashcal__caldav__icloud__04_propfind_etag_listing.xml": () => {
    const cal = `${PARTITION}redacted-account-id/calendars/redacted-calendar-id/`
    const ms = parse("kashcal__caldav__icloud__04_propfind_etag_listing.xml", cal)
    expect(ms.responses.map((r) => [r.href, Multistatus.propText(r, Xml.DAV, "getetag")])).toEqual([
      [cal, Option.some('"redacted-ctag-token"')],
      [`${cal}AAAAAAAA-1111-2222-3333-444444444444.ics`, Option.some('"redacted-etag-001"')],
      [`${cal}BBBBBBBB-5555-6666-7777-888888888888.ics`, Option.some('"redacted-etag-002"')]
    ])
    // a resourcetype in a 404 propstat is absent, not "the member is gone"
    const member = ms.responses[1]
    expect(member && Multistatus.prop(member, Xml.DAV, "resourcetype")).toBeUndefined()
    expect(member?.status).toEqual(Option.none())
    const self = ms.responses[0]
    expect(self && Calendars.isCalendar(self)).toBe(true)
  },
  "kashcal__caldav__icloud__06_calendar_user_address_set.xml": () => {
    const r = only(parse("kashcal__caldav__icloud__06_calendar_user_address_set.xml", FRONT))
    const set = Multistatus.prop(r, Xml.CALDAV, "calendar-user-address-set")
    const hrefs = set === undefined ? [] : Xml.children(set, Xml.DAV, "href")
    expect(hrefs.map((h) => h.text)).toEqual([
      "/123456789/principal",
      "/aOpaqueAccountToken1234567890abcdefghijk/principal/",
      "urn:uuid:123456789",
      "mailto:alice@example.com",
      "mailto:alice.work@example.com",
      "mailto:alice@example.me",
      "mailto:alice.alt@example.com"
    ])
    expect(hrefs.find((h) => h.attributes.preferred === "1")?.text).toBe("mailto:alice@example.com")
  },
  "python-caldav__test_caldav_unit_L859__root-current-user-principal.xml": () => {
    const r = only(parse("python-caldav__test_caldav_unit_L859__root-current-user-principal.xml", FRONT))
    expect(Calendars.hrefIn(r, Xml.DAV, "current-user-principal", FRONT)).toEqual(
      Option.some(`${FRONT}17149682/principal/`)
    )
  },
  "python-caldav__test_caldav_unit_L942__root-current-user-principal.xml": () => {
    const r = only(parse("python-caldav__test_caldav_unit_L942__root-current-user-principal.xml", FRONT))
    expect(Calendars.hrefIn(r, Xml.DAV, "current-user-principal", FRONT)).toEqual(
      Option.some(`${FRONT}17149682/principal/`)
    )
  },
  "python-caldav__test_caldav_unit_L918__principal-calendar-home-set.xml": () => {
    const r = only(parse("python-caldav__test_caldav_unit_L918__principal-calendar-home-set.xml", FRONT))
    expect(Calendars.hrefIn(r, Xml.CALDAV, "calendar-home-set", FRONT)).toEqual(
      Option.some(`${PARTITION}17149682/calendars/`)
    )
  },
  "python-caldav__test_caldav_unit_L1013__home-depth1-calendar-list.xml": () => {
    const home = `${PARTITION}17149682/calendars/`
    const ms = parse("python-caldav__test_caldav_unit_L1013__home-depth1-calendar-list.xml", home)
    // no supported-calendar-component-set: RFC 4791 says every component type is accepted
    expect(Calendars.eventCalendars(ms, home).map((c) => [c.displayName, c.components])).toEqual([
      [Option.some("calfoo3"), ["VEVENT", "VTODO", "VJOURNAL"]],
      [Option.some("Yep"), ["VEVENT", "VTODO", "VJOURNAL"]]
    ])
  },
  "python-caldav__test_caldav_unit_L1107__sync-collection.xml": () => {
    const cal = `${PARTITION}17149682/calendars/testcalendar-f96b3bf0-09e1-4f3d-b891-3a25c99a2894/`
    const ms = parse("python-caldav__test_caldav_unit_L1107__sync-collection.xml", cal)
    expect(ms.syncToken).toEqual(
      Option.some("HwoQEgwAAAh4yw8ntwAAAAAYAhgAIhUIopml463FieB4EKq9+NSn04DrkQEoAA==")
    )
    expect(
      ms.responses.map((r) => Multistatus.sameResourceKey(r.href) === Multistatus.sameResourceKey(cal))
    ).toEqual([true, false, false])
    // %40 and @ name the same resource
    expect(Multistatus.sameResourceKey(ms.responses[2]?.href ?? "")).toBe(
      Multistatus.sameResourceKey(`${cal}20010712T182145Z-123401@example.com.ics`)
    )
  },
  "python-caldav__test_caldav_unit_L758__calendar-query-empty.xml": () => {
    const r = only(parse("python-caldav__test_caldav_unit_L758__calendar-query-empty.xml", PARTITION))
    // the empty calendar-data in the 404 propstat is not a value
    expect(Multistatus.prop(r, Xml.CALDAV, "calendar-data")).toBeUndefined()
  },
  "python-caldav__test_caldav_unit_L962__calendar-query-with-data.xml": () => {
    const ms = parse("python-caldav__test_caldav_unit_L962__calendar-query-with-data.xml", PARTITION)
    const event = ms.responses[1]
    const data = event && Multistatus.prop(event, Xml.CALDAV, "calendar-data")
    expect(data?.text.startsWith("BEGIN:VCALENDAR\nVERSION:2.0\n")).toBe(true)
    expect(data?.text).toContain("UID:20010712T182145Z-123401@example.com")
    expect(data?.text.endsWith("END:VCALENDAR\n")).toBe(true)
  },
  "issue__org-caldav-269__home-propfind-depth1-truncated.xml": () => {
    const home = `${PARTITION}123456/calendars/`
    const ms = parse("issue__org-caldav-269__home-propfind-depth1-truncated.xml", home)
    expect(Multistatus.propText(only(ms), Xml.DAV, "displayname")).toEqual(Option.some("My Events"))
    expect(Calendars.eventCalendars(ms, home)).toEqual([])
  },
  "issue__org-caldav-151__400-bad-request-AppleHttpServer.http": () => {
    const raw = rawHttpFixture("issue__org-caldav-151__400-bad-request-AppleHttpServer.http")
    expect(raw.headers.server).toBe("AppleHttpServer/2f080fc0")
    const err = classify(
      { method: "REPORT", url: `${PARTITION}1/calendars/c/` },
      {
        method: "REPORT",
        url: `${PARTITION}1/calendars/c/`,
        requestedUrl: `${PARTITION}1/calendars/c/`,
        status: raw.status,
        headers: raw.headers,
        body: raw.body
      }
    )
    expect(err._tag).toBe("Rejected")
    expect(err._tag === "Rejected" && err.status).toBe(400)
    expect(err.message).toContain("400 Bad Request")
  }
}

const icsChecks = (name: string) => () => {
  const ics = crlf(fixture(name))
  expect(ics).toMatch(/^BEGIN:VCALENDAR\r\n[\s\S]*END:VCALENDAR\r\n$/)
  for (const style of ["cdata", "cr-reference"] as const) {
    const ms = Multistatus.parse(multigetAnswer(ics, style), `${PARTITION}1/calendars/c/`)
    if (Either.isLeft(ms)) throw new Error(ms.left)
    const r = ms.right.responses[0]
    const data = r && Multistatus.prop(r, Xml.CALDAV, "calendar-data")?.text
    // &#13; keeps CR; inside CDATA, XML's end-of-line rule turns CRLF into LF
    expect(data).toBe(style === "cr-reference" ? ics : ics.replace(/\r\n/g, "\n"))
  }
}

describe("iCloud fixtures", () => {
  const names = fixtureNames().filter((n) => n !== "SOURCES.md")

  it("every fixture file has a check", () => {
    const unchecked = names.filter((n) => !(n in checks) && !n.endsWith(".ics"))
    expect(unchecked).toEqual([])
    expect(names.length).toBeGreaterThanOrEqual(21)
  })

  for (const name of names) {
    const check = name.endsWith(".ics") ? icsChecks(name) : checks[name]
    it(name, () => {
      if (check === undefined) throw new Error(`no check for ${name}`)
      check()
    })
  }
})

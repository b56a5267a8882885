import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { classify } from "../src/internal/classify.js"
import { mayCarryCredentials, registrableDomain } from "../src/internal/domain.js"
import * as Multistatus from "../src/internal/multistatus.js"
import * as RetryAfter from "../src/internal/retryAfter.js"
import * as Xml from "../src/internal/xml.js"

const BASE = "https://dav.example.com/cal/"

const ms = (body: string) => {
  const r = Multistatus.parse(body, BASE)
  if (Either.isLeft(r)) throw new Error(r.left)
  return r.right
}

const reason = (body: string, limits?: Xml.XmlLimits) => {
  const r = Multistatus.parse(body, BASE, limits)
  return Either.isLeft(r) ? r.left : "parsed"
}

describe("XML by namespace", () => {
  const same = [
    `<D:multistatus xmlns:D="DAV:"><D:response><D:href>a.ics</D:href><D:propstat><D:prop><D:getetag>"1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:sync-token>t</D:sync-token></D:multistatus>`,
    `<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>a.ics</ns0:href><ns0:propstat><ns0:status>HTTP/1.1 200 OK</ns0:status><ns0:prop><ns0:getetag>"1"</ns0:getetag></ns0:prop></ns0:propstat></ns0:response><ns0:sync-token>t</ns0:sync-token></ns0:multistatus>`,
    `<multistatus xmlns="DAV:"><response xmlns="DAV:"><href xmlns="DAV:">a.ics</href><propstat><prop><getetag xmlns="DAV:">"1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response><sync-token>t</sync-token></multistatus>`,
    // the token first (Radicale) or last (Xandikos, iCloud): position does not matter
    `<x:multistatus xmlns:x="DAV:"><x:sync-token>t</x:sync-token><x:response><x:href>a.ics</x:href><x:propstat><x:prop><x:getetag>"1"</x:getetag></x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat></x:response></x:multistatus>`
  ]
  it.each(same)("reads the same answer whatever the prefixes: %#", (body) => {
    const m = ms(body)
    expect(m.syncToken).toEqual(Option.some("t"))
    expect(m.responses.map((r) => [r.href, Multistatus.propText(r, Xml.DAV, "getetag")])).toEqual([
      [`${BASE}a.ics`, Option.some('"1"')]
    ])
  })

  it("does not take a DAV-looking name in another namespace for the DAV one", () => {
    const m = ms(
      `<D:multistatus xmlns:D="DAV:" xmlns:X="urn:not-dav"><D:response><D:href>/a</D:href><D:propstat><D:prop><X:getetag>"wrong"</X:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`
    )
    const r = m.responses[0]
    expect(r && Multistatus.propText(r, Xml.DAV, "getetag")).toEqual(Option.none())
    expect(r && Multistatus.propText(r, "urn:not-dav", "getetag")).toEqual(Option.some('"wrong"'))
  })

  it("lets an inner default namespace override the outer one", () => {
    const root = Xml.parse(`<a xmlns="urn:one"><b xmlns="urn:two"><c/></b><d/></a>`)
    expect(Either.isRight(root)).toBe(true)
    if (Either.isLeft(root)) return
    const [b, d] = root.right.children
    expect([root.right.ns, b?.ns, b?.children[0]?.ns, d?.ns]).toEqual([
      "urn:one",
      "urn:two",
      "urn:two",
      "urn:one"
    ])
  })

  it("a 404 propstat never overwrites a 200 value, in either order", () => {
    for (const order of [0, 1]) {
      const ok = `<propstat><prop><getctag xmlns="http://calendarserver.org/ns/">00123</getctag></prop><status>HTTP/1.1 200 OK</status></propstat>`
      const missing = `<propstat><prop><getctag xmlns="http://calendarserver.org/ns/"/></prop><status>HTTP/1.1 404 Not Found</status></propstat>`
      const m = ms(
        `<multistatus xmlns="DAV:"><response><href>/c/</href>${order === 0 ? ok + missing : missing + ok}</response></multistatus>`
      )
      const r = m.responses[0]
      // parseTagValue is off: "00123" stays a string with its zeros
      expect(r && Multistatus.propText(r, Xml.CALSERVER, "getctag")).toEqual(Option.some("00123"))
    }
  })

  it("reads the response-level status of a deleted member", () => {
    const m = ms(
      `<multistatus xmlns="DAV:"><response><href>/c/gone.ics</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>`
    )
    expect(m.responses[0]?.status).toEqual(Option.some(404))
  })

  it("decodes &#13; and entities in calendar-data, and keeps CDATA as text", () => {
    const m = ms(
      `<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/c/a.ics</href><propstat><prop>` +
        `<C:calendar-data>BEGIN:VCALENDAR&#13;\nSUMMARY:Fish &amp; chips &lt;3&#13;\nEND:VCALENDAR&#13;\n</C:calendar-data>` +
        `</prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/c/b.ics</href><propstat><prop>` +
        `<C:calendar-data><![CDATA[BEGIN:VCALENDAR\nSUMMARY:<b>&amp;\nEND:VCALENDAR\n]]></C:calendar-data>` +
        `</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`
    )
    const [a, b] = m.responses
    expect(a && Multistatus.prop(a, Xml.CALDAV, "calendar-data")?.text).toBe(
      "BEGIN:VCALENDAR\r\nSUMMARY:Fish & chips <3\r\nEND:VCALENDAR\r\n"
    )
    expect(b && Multistatus.prop(b, Xml.CALDAV, "calendar-data")?.text).toBe(
      "BEGIN:VCALENDAR\nSUMMARY:<b>&amp;\nEND:VCALENDAR\n"
    )
  })

  it("refuses DOCTYPE, entity declarations included", () => {
    expect(
      reason(
        `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><multistatus xmlns="DAV:">&b;</multistatus>`
      )
    ).toContain("DOCTYPE")
    expect(reason(`<!doctype html><multistatus xmlns="DAV:"/>`)).toContain("DOCTYPE")
  })

  it("bounds document size and nesting", () => {
    const big = `<multistatus xmlns="DAV:">${"<response/>".repeat(1000)}</multistatus>`
    expect(reason(big, { ...Xml.defaultLimits, maxBytes: 1000 })).toContain("larger than 1000")
    const deep = `<multistatus xmlns="DAV:">${"<a>".repeat(100)}${"</a>".repeat(100)}</multistatus>`
    expect(reason(deep, { ...Xml.defaultLimits, maxBytes: 1_000_000 })).toContain("malformed XML")
  })

  it("says what was wrong with an unusable answer", () => {
    expect(reason(`<html><body>oops</body></html>`)).toContain("expected a DAV: multistatus root")
    expect(reason(`<D:multistatus xmlns:D="DAV:"><D:response>`)).toContain("malformed XML")
    expect(reason(`<Q:multistatus/>`)).toContain('undeclared namespace prefix "Q"')
    expect(
      reason(`<multistatus xmlns="DAV:"><response><status>HTTP/1.1 200 OK</status></response></multistatus>`)
    ).toBe("a response without an href")
    expect(reason("")).toBe("empty body where XML was expected")
    expect(reason("<!-- only a comment -->")).toContain("malformed XML")
  })
})

describe("hrefs", () => {
  it("resolves relative hrefs against the request URL", () => {
    expect(Multistatus.resolveHref("x.ics", BASE)).toEqual(Option.some(`${BASE}x.ics`))
    expect(Multistatus.resolveHref("/other/x.ics", BASE)).toEqual(
      Option.some("https://dav.example.com/other/x.ics")
    )
    expect(Multistatus.resolveHref("https://p1.example.com:443/x/", BASE)).toEqual(
      Option.some("https://p1.example.com/x/")
    )
  })

  it("compares resources across encodings, default ports and trailing slashes", () => {
    const k = Multistatus.sameResourceKey
    expect(k("https://a.example/c/x%40y.ics")).toBe(k("https://a.example:443/c/x@y.ics"))
    expect(k("https://a.example/c/")).toBe(k("https://a.example/c"))
    expect(k("https://a.example/c/")).not.toBe(k("https://b.example/c/"))
    expect(k("https://a.example/c/1.ics")).not.toBe(k("https://a.example/c/2.ics"))
  })
})

describe("credentials across hosts", () => {
  it("groups hosts by registrable domain", () => {
    expect(registrableDomain("p62-caldav.icloud.com")).toBe("icloud.com")
    expect(registrableDomain("caldav.icloud.com.cn")).toBe("icloud.com.cn")
    expect(registrableDomain("dav.example.co.uk")).toBe("example.co.uk")
    expect(registrableDomain("127.0.0.1")).toBe("127.0.0.1")
    expect(registrableDomain("localhost")).toBe("localhost")
    // the public suffix list's private section: each of these is someone else's domain
    expect(registrableDomain("alice.duckdns.org")).toBe("alice.duckdns.org")
    expect(registrableDomain("dav.alice.github.io")).toBe("alice.github.io")
    expect(registrableDomain("Caldav.iCloud.com.")).toBe("icloud.com")
  })

  it("forwards only within the domain and never down to plain http", () => {
    const from = new URL("https://caldav.icloud.com/")
    expect(mayCarryCredentials(from, new URL("https://p62-caldav.icloud.com:443/1/calendars/"))).toBe(true)
    expect(mayCarryCredentials(from, new URL("https://caldav.icloud.com.evil.example/"))).toBe(false)
    expect(mayCarryCredentials(from, new URL("https://icloud.com.cn/"))).toBe(false)
    expect(mayCarryCredentials(from, new URL("http://p62-caldav.icloud.com/"))).toBe(false)
    expect(
      mayCarryCredentials(new URL("https://alice.duckdns.org/"), new URL("https://mallory.duckdns.org/"))
    ).toBe(false)
    expect(
      mayCarryCredentials(new URL("https://alice.duckdns.org/"), new URL("https://dav.alice.duckdns.org/"))
    ).toBe(true)
    expect(mayCarryCredentials(new URL("http://127.0.0.1:5232/"), new URL("http://localhost:5232/"))).toBe(
      false
    )
  })

  it("on one host (the answer without the suffix list) still never goes down to plain http", () => {
    const from = new URL("https://caldav.icloud.com/")
    expect(mayCarryCredentials(from, new URL("https://caldav.icloud.com/1/calendars/"))).toBe(true)
    expect(mayCarryCredentials(from, new URL("https://CalDAV.iCloud.com./1/"))).toBe(true)
    expect(mayCarryCredentials(from, new URL("http://caldav.icloud.com/1/"))).toBe(false)
    expect(mayCarryCredentials(new URL("http://[::1]:5232/"), new URL("http://[::1]:5232/a/"))).toBe(true)
    expect(mayCarryCredentials(new URL("http://127.0.0.1:5232/"), new URL("http://127.0.0.1:8080/"))).toBe(
      true
    )
  })
})

describe("Retry-After", () => {
  const now = Date.parse("2026-11-21T18:00:00Z")
  it("reads delta-seconds and HTTP dates", () => {
    expect(RetryAfter.parse("120", now)).toEqual(Option.some(Duration.seconds(120)))
    expect(RetryAfter.parse("Sat, 21 Nov 2026 18:01:30 GMT", now)).toEqual(
      Option.some(Duration.millis(90_000))
    )
    expect(RetryAfter.parse("Sat, 21 Nov 2026 17:00:00 GMT", now)).toEqual(Option.some(Duration.zero))
    expect(RetryAfter.parse("soon", now)).toEqual(Option.none())
    expect(RetryAfter.parse(undefined, now)).toEqual(Option.none())
  })
})

describe("status to error", () => {
  const call = { method: "REPORT", url: "https://user:pw@dav.example.com/cal/" }
  const res = (status: number, body = "", headers: Record<string, string> = {}) => ({
    method: "REPORT",
    url: "https://dav.example.com/cal/",
    requestedUrl: "https://dav.example.com/cal/",
    status,
    headers,
    body
  })
  const validSyncToken = `<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`

  it("a rejected sync token is TokenInvalid whatever status the server chose", () => {
    const withToken = { ...call, token: "t1" }
    for (const status of [400, 403, 409, 410, 500]) {
      expect(classify(withToken, res(status))._tag).toBe("TokenInvalid")
    }
    expect(classify(withToken, res(422, validSyncToken))._tag).toBe("TokenInvalid")
    // without a token, the same statuses mean what they usually mean
    expect(classify(call, res(403, validSyncToken))._tag).toBe("Rejected")
    expect(classify(call, res(500))._tag).toBe("Transient")
    // a server without sync-collection is not a token problem
    const unsupported = classify(
      withToken,
      res(403, `<D:error xmlns:D="DAV:"><D:supported-report/></D:error>`)
    )
    expect(unsupported._tag === "Rejected" && unsupported.conditions).toEqual(["supported-report"])
  })

  it("finds no-uid-conflict in the body whatever the status", () => {
    const body = `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict><D:href>/cal/first.ics</D:href></C:no-uid-conflict></D:error>`
    const e = classify({ method: "PUT", url: BASE }, res(409, body))
    expect(e._tag).toBe("UidConflict")
    expect(e._tag === "UidConflict" && e.existing).toEqual(
      Option.some("https://dav.example.com/cal/first.ics")
    )
    expect(classify({ method: "PUT", url: BASE }, res(403, body))._tag).toBe("UidConflict")
    expect(classify({ method: "PUT", url: BASE }, res(412))._tag).toBe("EtagMismatch")
    const scheduling = `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:unique-scheduling-object-resource><D:href>/cal/other.ics</D:href></C:unique-scheduling-object-resource></D:error>`
    const unique = classify({ method: "PUT", url: BASE }, res(403, scheduling))
    expect(unique._tag).toBe("UidConflict")
    expect(unique._tag === "UidConflict" && unique.existing).toEqual(
      Option.some("https://dav.example.com/cal/other.ics")
    )
    const invalid = `<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:valid-calendar-data/></D:error>`
    expect(classify({ method: "PUT", url: BASE }, res(412, invalid))._tag).toBe("Rejected")
  })

  it("maps the rest and never shows user-info of the URL", () => {
    expect(classify(call, res(401))._tag).toBe("Unauthorized")
    expect(classify(call, res(404))._tag).toBe("NotFound")
    expect(classify(call, res(502))._tag).toBe("Transient")
    expect(classify(call, res(408))._tag).toBe("Transient")
    expect(classify(call, res(405))._tag).toBe("Rejected")
    expect(classify(call, res(302))._tag).toBe("ProtocolError")
    const e = classify(call, res(401))
    expect(e.message).not.toContain("pw")
    expect(JSON.stringify(e)).not.toContain("pw@")
  })
})

/**
 * Hostile answers from a server, through the client on a loopback node:http server: each is
 * refused with a reason (a `ProtocolError`, which fails the poll and says why) before it can
 * cost unbounded memory, and a body with bytes that are not UTF-8 is still read, with the damage
 * marked for the codec to quarantine that one object.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import * as Utf8 from "../src/internal/utf8.js"
import * as Xml from "../src/internal/xml.js"

/** A server answering every request with a 207 and the body `answer` gives (a string or bytes). */
const serving = (answer: () => string | Uint8Array) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          res.writeHead(207, { "content-type": "application/xml; charset=utf-8" })
          res.end(answer())
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/cal/`, close: () => server.close() }))
      })
    }),
    (s) => Effect.sync(s.close)
  )

const failure = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (r) => {
    if (Either.isRight(r)) throw new Error("expected the answer to be refused")
    return r.left
  })

const reasonOf = (e: { readonly _tag: string }) => ("reason" in e ? String(e.reason) : e._tag)

const response = (href: string, props: string) =>
  `<d:response><d:href>${href}</d:href><d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`

const ms = (inner: string) =>
  `<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">${inner}</d:multistatus>`

const event = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260302T090000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`

const provide = Effect.provide(Layer.fresh(NodeHttpClient.layer))

describe("hostile answers from a server", () => {
  it.scoped("an entity bomb comes with a DOCTYPE, and a DOCTYPE is refused", () =>
    Effect.gen(function* () {
      const laughs = [
        `<!ENTITY a0 "ha">`,
        ...Array.from({ length: 9 }, (_, i) => `<!ENTITY a${i + 1} "${`&a${i};`.repeat(10)}">`)
      ].join("")
      const server = yield* serving(
        () =>
          `<?xml version="1.0"?><!DOCTYPE d:multistatus [${laughs}]>${ms(response("/cal/", "<d:getetag>&a9;</d:getetag>"))}`
      )
      const client = yield* CalDavClient.make({})
      const e = yield* failure(client.collectionState(server.url))
      expect(e._tag).toBe("ProtocolError")
      expect(reasonOf(e)).toBe("XML body contains a DOCTYPE declaration, which is refused")
    }).pipe(provide)
  )

  it.scoped("an external entity (XXE) is refused the same way: nothing is read from disk", () =>
    Effect.gen(function* () {
      const server = yield* serving(
        () =>
          `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>${ms(response("/cal/", "<d:getetag>&x;</d:getetag>"))}`
      )
      const client = yield* CalDavClient.make({})
      expect(reasonOf(yield* failure(client.listEtags(server.url)))).toContain("DOCTYPE")
    }).pipe(provide)
  )

  it.scoped("an undeclared entity with no DOCTYPE is left as text, never expanded", () =>
    Effect.gen(function* () {
      const server = yield* serving(() => ms(response("/cal/a.ics", `<d:getetag>"&bomb;"</d:getetag>`)))
      const client = yield* CalDavClient.make({})
      const listed = yield* client.listEtags(server.url)
      expect(listed.map((r) => r.etag)).toEqual(['"&bomb;"'])
    }).pipe(provide)
  )

  it.scoped("deeply nested XML is refused, not recursed into", () =>
    Effect.gen(function* () {
      const depth = 100_000
      const server = yield* serving(() => ms(`${"<d:x>".repeat(depth)}${"</d:x>".repeat(depth)}`))
      const client = yield* CalDavClient.make({})
      const e = yield* failure(client.listEtags(server.url))
      expect(e._tag).toBe("ProtocolError")
      expect(reasonOf(e)).toContain("malformed XML")
    }).pipe(provide)
  )

  it.scoped("a 50 MB multistatus is refused at the body limit, not read to the end", () =>
    Effect.gen(function* () {
      const entry = response("/cal/e.ics", `<d:getetag>"${"e".repeat(1000)}"</d:getetag>`)
      const body = ms(entry.repeat(Math.ceil((50 * 1_048_576) / entry.length)))
      const server = yield* serving(() => body)
      const client = yield* CalDavClient.make({})
      const e = yield* failure(client.listEtags(server.url))
      expect(reasonOf(e)).toBe(`response body larger than ${32 * 1024 * 1024} bytes`)
    }).pipe(provide)
  )

  it.scoped("600,000 entries in 30 MB are refused by their count before they are parsed", () =>
    Effect.gen(function* () {
      const entries = Array.from(
        { length: 600_000 },
        (_, i) => `<d:response><d:href>${i}</d:href></d:response>`
      )
      const body = ms(entries.join(""))
      expect(body.length).toBeLessThan(Xml.defaultLimits.maxBytes)
      const server = yield* serving(() => body)
      const client = yield* CalDavClient.make({})
      const before = process.memoryUsage().rss
      const e = yield* failure(client.listEtags(server.url))
      expect(reasonOf(e)).toBe(
        "XML body has more than 300000 elements (a multistatus that large is refused before it is parsed)"
      )
      // Loose: the body itself (30 MB of text, twice while decoded) and no parse tree (the tree
      // of this body took 1.2 GB).
      expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1_048_576)
    }).pipe(provide)
  )

  it("the element count is a bound on start tags only", () => {
    expect(Xml.countElements(`<?xml version="1.0"?><!-- c --><a><b/><c>x &lt; y</c></a>`)).toBe(3)
    expect(Xml.countElements("<a><b><c/></b></a>", 1)).toBe(2)
    const limits = { ...Xml.defaultLimits, maxElements: 3 }
    expect(Either.isRight(Xml.parse(`<a xmlns="DAV:"><b/><c/></a>`, limits))).toBe(true)
    expect(Either.getLeft(Xml.parse(`<a xmlns="DAV:"><b/><c/><d/></a>`, limits))._tag).toBe("Some")
  })

  it.scoped("bytes that are not UTF-8 in one object: the answer is read, that object marked with NUL", () =>
    Effect.gen(function* () {
      const encoder = new TextEncoder()
      // The same answer with a second object whose summary is Latin-1 ("Caf\xe9"), as a
      // misconfigured server stores it.
      const [head, tail] = ms("|").split("|") as [string, string]
      const latin1 = Buffer.concat([
        encoder.encode(head),
        encoder.encode(
          response(
            "/cal/good.ics",
            `<d:getetag>"1"</d:getetag><c:calendar-data>${event("good", "Café")}</c:calendar-data>`
          )
        ),
        encoder.encode(
          `<d:response><d:href>/cal/bad.ics</d:href><d:propstat><d:prop><d:getetag>"2"</d:getetag><c:calendar-data>`
        ),
        Buffer.from(event("bad", "Caf\xe9"), "latin1"),
        encoder.encode(
          `</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
        ),
        encoder.encode(tail)
      ])
      const server = yield* serving(() => latin1)
      const client = yield* CalDavClient.make({})
      const items = yield* client.query(server.url, {
        start: new Date("2026-03-01T00:00:00Z"),
        end: new Date("2026-03-08T00:00:00Z")
      })
      const byHref = new Map(items.map((i) => [i.href.split("/").at(-1), i.data]))
      // (XML turns CRLF into LF; the codec reads either.)
      expect(byHref.get("good.ics")).toContain("SUMMARY:Café\n")
      expect(byHref.get("bad.ics")).toContain(`SUMMARY:Caf${Utf8.INVALID}\n`)
    }).pipe(provide)
  )

  it("the UTF-8 reader: valid text as it is; each run of bad bytes one NUL; overlong and surrogate forms are bad", () => {
    const bytes = (...xs: ReadonlyArray<number>) => Uint8Array.from(xs)
    expect(Utf8.decode(new TextEncoder().encode("Grüße 日本 😀"))).toEqual({
      text: "Grüße 日本 😀",
      lossy: false
    })
    expect(Utf8.decode(bytes(0x61, 0xff, 0xfe, 0x62))).toEqual({ text: "a\u0000b", lossy: true })
    // overlong "/" (C0 AF), a UTF-16 surrogate (ED A0 80), past U+10FFFF (F4 90 80 80), a cut sequence
    expect(Utf8.decode(bytes(0xc0, 0xaf)).text).toBe("\u0000")
    expect(Utf8.decode(bytes(0x61, 0xed, 0xa0, 0x80)).text).toBe("a\u0000")
    expect(Utf8.decode(bytes(0xf4, 0x90, 0x80, 0x80, 0x7a)).text).toBe("\u0000z")
    expect(Utf8.decode(bytes(0x7a, 0xe6, 0x97)).text).toBe("z\u0000")
    // a genuine U+FFFD is a character, not damage
    expect(Utf8.decode(bytes(0xef, 0xbf, 0xbd))).toEqual({ text: "\uFFFD", lossy: false })
  })
})

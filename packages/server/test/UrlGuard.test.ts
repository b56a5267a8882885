/**
 * The URL check that keeps the server out of its own network: the address classifier on tables
 * and generated addresses, URL parsing quirks (numeric hosts, IPv6 forms, credentials), every
 * resolved address checked, real DNS for "localhost", and a redirect into the private network
 * stopped before it is followed, through the real CalDAV client.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { CalDavClient } from "@almanac/caldav"
import { CliConfig, Options } from "@effect/cli"
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck, HashMap, Option, Redacted } from "effect"
import * as Config from "../src/Config.js"
import * as Cli from "../src/cli/Cli.js"
import * as UrlGuard from "../src/UrlGuard.js"

const refused = (address: string) => Option.isSome(UrlGuard.classifyAddress(address))
const reason = (address: string) => Option.getOrElse(UrlGuard.classifyAddress(address), () => "public")

const v4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")
const v4Int = (text: string) => text.split(".").reduce((n, b) => n * 256 + Number(b), 0)

/** Addresses of a CIDR range, drawn uniformly. */
const inRange = (cidr: string) => {
  const [base = "", bits = "32"] = cidr.split("/")
  const size = 2 ** (32 - Number(bits))
  return FastCheck.integer({ min: 0, max: size - 1 }).map((offset) => v4Text(v4Int(base) + offset))
}

const anyV4 = FastCheck.integer({ min: 0, max: 2 ** 32 - 1 })
const group = FastCheck.integer({ min: 0, max: 0xffff })
const v6With = (first: FastCheck.Arbitrary<number>) =>
  FastCheck.tuple(first, FastCheck.array(group, { minLength: 7, maxLength: 7 })).map(([a, rest]) =>
    [a, ...rest].map((g) => g.toString(16)).join(":")
  )

describe("classifyAddress", () => {
  it("says why each non-public address is refused", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["0.0.0.0", "this network"],
      ["0.1.2.3", "this network"],
      ["127.0.0.1", "loopback"],
      ["127.255.255.254", "loopback"],
      ["10.0.0.1", "private"],
      ["10.255.255.255", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "carrier-grade NAT"],
      ["100.127.255.255", "carrier-grade NAT"],
      ["169.254.169.254", "cloud metadata"],
      ["169.254.1.1", "link-local"],
      ["224.0.0.1", "multicast"],
      ["239.255.255.250", "multicast"],
      ["255.255.255.255", "broadcast"],
      ["240.0.0.1", "reserved"],
      ["::", "unspecified"],
      ["::1", "loopback"],
      ["[::1]", "loopback"],
      ["0:0:0:0:0:0:0:1", "loopback"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["febf:ffff::1", "link-local"],
      ["fc00::1", "unique-local"],
      ["fd12:3456:789a::1", "unique-local"],
      ["ff02::1", "multicast"],
      ["::ffff:127.0.0.1", "loopback"],
      ["::ffff:7f00:1", "loopback"],
      ["[::ffff:7f00:1]", "loopback"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:169.254.169.254", "cloud metadata"],
      ["::ffff:a9fe:a9fe", "cloud metadata"],
      ["::ffff:0:127.0.0.1", "loopback"],
      ["::127.0.0.1", "loopback"],
      ["64:ff9b::a9fe:a9fe", "cloud metadata"],
      ["64:ff9b::10.1.2.3", "private"],
      ["not-an-address", "not an IP address"]
    ]
    for (const [address, words] of cases) expect(reason(address), address).toContain(words)
  })

  it("lets public addresses through", () => {
    for (const address of [
      "8.8.8.8",
      "1.1.1.1",
      "17.253.144.10",
      "172.15.255.255",
      "172.32.0.0",
      "100.63.255.255",
      "100.128.0.0",
      "192.167.255.255",
      "192.169.0.0",
      "169.253.255.255",
      "169.255.0.0",
      "223.255.255.255",
      "2001:4860:4860::8888",
      "2606:4700:4700::1111",
      "::ffff:8.8.8.8",
      "::ffff:808:808",
      "64:ff9b::808:808"
    ])
      expect(reason(address), address).toBe("public")
  })

  it.prop(
    "every address of each non-public IPv4 range is refused",
    [
      FastCheck.constantFrom(
        "0.0.0.0/8",
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4"
      ).chain((cidr) => inRange(cidr))
    ],
    ([address]) => {
      expect(refused(address), address).toBe(true)
    }
  )

  it.prop(
    "ranges without special use stay public",
    [
      FastCheck.oneof(
        inRange("11.0.0.0/8"),
        inRange("64.0.0.0/3"),
        inRange("176.0.0.0/4"),
        inRange("208.0.0.0/4")
      )
    ],
    ([address]) => {
      expect(refused(address), address).toBe(false)
    }
  )

  it.prop(
    "an IPv4 address written as IPv4-mapped IPv6 (dotted or hex) is judged like the address itself",
    [anyV4],
    ([n]) => {
      const dotted = v4Text(n)
      const hex = `::ffff:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
      expect(refused(`::ffff:${dotted}`), dotted).toBe(refused(dotted))
      expect(refused(`[${hex}]`), hex).toBe(refused(dotted))
    }
  )

  it.prop(
    "IPv6 link-local, unique-local and multicast are refused; global unicast (2000::/3) is public",
    [
      v6With(FastCheck.integer({ min: 0xfe80, max: 0xfebf })),
      v6With(FastCheck.integer({ min: 0xfc00, max: 0xfdff })),
      v6With(FastCheck.integer({ min: 0xff00, max: 0xffff })),
      v6With(FastCheck.integer({ min: 0x2000, max: 0x3fff }))
    ],
    ([linkLocal, uniqueLocal, multicast, global]) => {
      expect(reason(linkLocal), linkLocal).toContain("link-local")
      expect(reason(uniqueLocal), uniqueLocal).toContain("unique-local")
      expect(reason(multicast), multicast).toContain("multicast")
      expect(refused(global), global).toBe(false)
    }
  )
})

/** A resolver from a table; names it does not know fail as NXDOMAIN would. */
const table =
  (entries: Record<string, ReadonlyArray<string>>): UrlGuard.Resolver =>
  (host) => {
    const found = entries[host]
    return found === undefined ? Effect.fail("ENOTFOUND") : Effect.succeed(found)
  }

/** The refusal; a URL that is accepted fails the test with that URL. */
const rejection = (guard: UrlGuard.UrlGuardShape, url: string) => Effect.flip(guard.check(url))

describe("UrlGuard.check", () => {
  const strict = UrlGuard.make({
    allowPrivateUrls: false,
    resolve: table({
      "caldav.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
      "split.example.com": ["93.184.216.34", "10.1.2.3"],
      "metadata.example.com": ["169.254.169.254"],
      "empty.example.com": []
    })
  })

  it.effect("accepts a public https or http URL whose every address is public", () =>
    Effect.gen(function* () {
      const url = yield* strict.check("  https://caldav.example.com/dav/  ")
      expect(url.href).toBe("https://caldav.example.com/dav/")
      yield* strict.check("http://caldav.example.com:8008/")
    })
  )

  it.effect("refuses a host with any private address among its addresses", () =>
    Effect.gen(function* () {
      const e = yield* rejection(strict, "https://split.example.com/")
      expect(e).toBeInstanceOf(UrlGuard.UrlRejected)
      expect(e.reason).toContain("split.example.com resolves to 10.1.2.3")
      expect(e.reason).toContain("private network")
      const m = yield* rejection(strict, "http://metadata.example.com/latest/meta-data/")
      expect(m.reason).toContain("cloud metadata")
    })
  )

  it.effect("refuses IP hosts in every spelling the URL parser turns into a private address", () =>
    Effect.gen(function* () {
      for (const url of [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://0.0.0.0:5232/"
      ]) {
        const e = yield* rejection(strict, url)
        // The words say how to allow it: the setting with its value, and the flag (which exists).
        expect(e.reason, url).toContain("ALMANAC_ALLOW_PRIVATE_URLS=true")
        expect(e.reason, url).toContain("--allow-private-urls")
      }
    })
  )

  it.effect("refuses other schemes, credentials in the URL, and text that is no URL, with a reason", () =>
    Effect.gen(function* () {
      const ftp = yield* rejection(strict, "ftp://caldav.example.com/")
      expect(ftp.reason).toContain("https://")
      const file = yield* rejection(strict, "file:///etc/passwd")
      expect(file.reason).toContain("not file:")
      const creds = yield* rejection(strict, "https://ann:hunter2@caldav.example.com/")
      expect(creds.reason).toContain("user name or password")
      // The refusal never repeats the password it found.
      expect(JSON.stringify(creds)).not.toContain("hunter2")
      expect(creds.message).not.toContain("hunter2")
      const garbage = yield* rejection(strict, "caldav.example.com/dav")
      expect(garbage.reason).toContain("absolute URL")
      const unknown = yield* rejection(strict, "https://nowhere.example.com/")
      expect(unknown.reason).toContain("could not be resolved")
      const empty = yield* rejection(strict, "https://empty.example.com/")
      expect(empty.reason).toContain("no address")
    })
  )

  it.effect(
    "with allowPrivateUrls, private addresses pass without a DNS lookup; scheme and credentials still count",
    () =>
      Effect.gen(function* () {
        const open = UrlGuard.make({
          allowPrivateUrls: true,
          resolve: () => Effect.fail("must not be asked")
        })
        yield* open.check("http://127.0.0.1:5232/")
        yield* open.check("http://radicale.lan/")
        expect(yield* rejection(open, "ftp://127.0.0.1/")).toBeInstanceOf(UrlGuard.UrlRejected)
        expect(yield* rejection(open, "http://a:b@127.0.0.1/")).toBeInstanceOf(UrlGuard.UrlRejected)
      })
  )

  it.effect(
    "the advice in a refusal works: the setting it names, with its value, and the serve flag it names",
    () =>
      Effect.gen(function* () {
        const e = yield* rejection(UrlGuard.make({ allowPrivateUrls: false }), "http://127.0.0.1:5232/")
        const setting = /(ALMANAC_[A-Z_]+)=(\S+)/.exec(e.reason)
        expect(setting).not.toBeNull()
        const [, name = "", value = ""] = setting ?? []
        const loaded = Config.load({ [name]: value })
        expect(Either.isRight(loaded) && loaded.right.allowPrivateUrls).toBe(true)
        const flag = /almanac serve (--[a-z-]+)/.exec(e.reason)?.[1] ?? ""
        expect(flag).not.toBe("")
        const parsed = yield* Options.parse(
          Cli.serveFlags.allowPrivateUrls,
          HashMap.make([flag, []]),
          CliConfig.defaultConfig
        ).pipe(Effect.provide(NodeFileSystem.layer))
        expect(parsed).toBe(true)
      })
  )

  it.effect("the system resolver: localhost resolves to a loopback address and is refused", () =>
    Effect.gen(function* () {
      const guard = UrlGuard.make({ allowPrivateUrls: false })
      const e = yield* rejection(guard, "http://localhost:8080/")
      expect(e.reason).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/)
      expect(e.reason).toContain("loopback")
      expect(e.reason).toContain("ALMANAC_ALLOW_PRIVATE_URLS=true")
    })
  )
})

const listen = (server: Server, host: string) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, host, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

describe("redirects through the CalDAV client", () => {
  it.live("a redirect to a private address is refused before it is followed", () =>
    Effect.gen(function* () {
      // The private target: it must never see a request.
      let reached = 0
      const target = yield* listen(
        createServer((_req, res) => {
          reached++
          res.writeHead(207, { "content-type": "application/xml" }).end("<multistatus xmlns='DAV:'/>")
        }),
        "127.0.0.1"
      )
      // A "public" server (our resolver says so) that answers every request with a redirect.
      const redirector = yield* listen(
        createServer((req, res) => {
          const to = req.url?.startsWith("/meta")
            ? "http://169.254.169.254/latest/meta-data/"
            : `http://127.0.0.1:${target}/calendars/`
          res.writeHead(301, { location: to }).end()
        }),
        "localhost"
      )
      const guard = UrlGuard.make({
        allowPrivateUrls: false,
        resolve: table({ localhost: ["203.0.113.7"] })
      })
      const client = yield* CalDavClient.make({
        auth: { user: "ann", password: Redacted.make("secret") },
        timeout: "5 seconds",
        checkUrl: guard.checkUrl
      })
      for (const [path, words] of [
        ["/dav/", "loopback"],
        ["/meta/", "cloud metadata"]
      ] as const) {
        const failure = yield* Effect.flip(client.discover(`http://localhost:${redirector}${path}`))
        expect(failure._tag, path).toBe("ProtocolError")
        if (failure._tag !== "ProtocolError") continue
        expect(failure.reason).toContain("refused before connecting")
        expect(failure.reason).toContain(words)
      }
      expect(reached).toBe(0)
      // The same client follows the redirect when the guard allows private addresses: the test
      // would notice a target that cannot be reached at all.
      const open = yield* CalDavClient.make({
        auth: { user: "ann", password: Redacted.make("secret") },
        timeout: "5 seconds",
        checkUrl: UrlGuard.make({ allowPrivateUrls: true }).checkUrl
      })
      yield* Effect.either(open.discover(`http://localhost:${redirector}/dav/`))
      expect(reached).toBeGreaterThan(0)
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
  )
})

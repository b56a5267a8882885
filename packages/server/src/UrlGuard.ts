/**
 * The check before the server connects to a URL a user gave it (or a URL a server named in
 * answer to one). Without it, anyone with a token could make the server probe its own network:
 * the cloud metadata service at 169.254.169.254, an admin page on localhost, a database on the
 * LAN (server-side request forgery). Loopback, private, link-local and the other non-public
 * address ranges are refused unless ServerConfig.allowPrivateUrls, and every address a host name
 * resolves to is checked, not only the first.
 *
 * The CalDAV client asks `checkUrl` before every request, redirect hops included, so a public
 * server cannot redirect us into the private network either. What this does not stop: a DNS
 * answer that changes between our lookup and the HTTP client's own (DNS rebinding); that needs
 * the check inside the HTTP client's connect.
 */
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import { Effect, Option, Schema } from "effect"

export class UrlRejected extends Schema.TaggedError<UrlRejected>()("UrlRejected", {
  /** The URL without any user name or password in it. */
  url: Schema.String,
  /** In words for the person who typed the URL. */
  reason: Schema.String
}) {
  override get message() {
    return `${this.url} cannot be used: ${this.reason}`
  }
}

// --- addresses -------------------------------------------------------------------------------

interface Range4 {
  readonly base: number
  readonly bits: number
  readonly reason: string
}

const v4 = (text: string): number | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined
    const b = Number(p)
    if (b > 255) return undefined
    n = n * 256 + b
  }
  return n
}

/**
 * What a person does when the address is theirs on purpose (a CalDAV server on the LAN or on this
 * machine): the setting and the flag, with the value that allows it.
 */
export const howToAllow =
  "This server does not connect to private addresses unless told to: set ALMANAC_ALLOW_PRIVATE_URLS=true (or start it with almanac serve --allow-private-urls)"

const range4 = (cidr: string, reason: string): Range4 => {
  const [base, bits] = cidr.split("/")
  return { base: v4(base ?? "") ?? 0, bits: Number(bits), reason }
}

const inRange4 = (address: number, r: Range4): boolean => {
  const size = 2 ** (32 - r.bits)
  return Math.floor(address / size) === Math.floor(r.base / size)
}

const metadata = v4("169.254.169.254") ?? 0

/** Most specific first: the first match gives the reason. */
const ranges4: ReadonlyArray<Range4> = [
  range4("0.0.0.0/8", "a 'this network' address (0.0.0.0/8), which reaches this machine"),
  range4("127.0.0.0/8", "a loopback address (127.0.0.0/8): this machine itself"),
  range4("10.0.0.0/8", "a private network address (10.0.0.0/8)"),
  range4("172.16.0.0/12", "a private network address (172.16.0.0/12)"),
  range4("192.168.0.0/16", "a private network address (192.168.0.0/16)"),
  range4("100.64.0.0/10", "a carrier-grade NAT address (100.64.0.0/10), private to the provider's network"),
  range4("169.254.0.0/16", "a link-local address (169.254.0.0/16)"),
  range4("192.0.0.0/24", "an IETF protocol address (192.0.0.0/24), not a public server"),
  range4("198.18.0.0/15", "a network-test address (198.18.0.0/15), not a public server"),
  range4("224.0.0.0/4", "a multicast address (224.0.0.0/4)"),
  range4("240.0.0.0/4", "a reserved or broadcast address (240.0.0.0/4)")
]

/** Why an IPv4 address is not a public server's, or none when it is. */
const classify4 = (address: number): Option.Option<string> => {
  if (address === metadata)
    return Option.some("the cloud metadata service address (169.254.169.254), a link-local address")
  return Option.fromNullable(ranges4.find((r) => inRange4(address, r))?.reason)
}

/** Eight 16-bit groups, or undefined when `text` is not an IPv6 address. */
const v6 = (text: string): ReadonlyArray<number> | undefined => {
  let t = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "")
  if (isIP(t) !== 6) return undefined
  // A dotted quad at the end (::ffff:127.0.0.1) stands for the last two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(t)
  if (quad?.[1] !== undefined) {
    const n = v4(quad[1])
    if (n === undefined) return undefined
    t = `${t.slice(0, -quad[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head = "", tail] = t.split("::")
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)))
  const front = groups(head)
  const back = tail === undefined ? [] : groups(tail)
  const zeros = 8 - front.length - back.length
  const all = [...front, ...Array.from({ length: tail === undefined ? 0 : zeros }, () => 0), ...back]
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : undefined
}

const embedded4 = (g: ReadonlyArray<number>): number => (g[6] ?? 0) * 65536 + (g[7] ?? 0)

/** Why an IPv6 address is not a public server's, or none when it is. */
const classify6 = (g: ReadonlyArray<number>): Option.Option<string> => {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, gg = 0, h = 0] = g
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0)
  if (zeroUpTo(8)) return Option.some("the unspecified address (::), which reaches this machine")
  if (zeroUpTo(7) && h === 1) return Option.some("the IPv6 loopback address (::1): this machine itself")
  const inner = (form: string) =>
    Option.map(classify4(embedded4(g)), (reason) => `an IPv4 address written as IPv6 (${form}): ${reason}`)
  if (zeroUpTo(5) && f === 0xffff) return inner("IPv4-mapped")
  if (zeroUpTo(4) && e === 0xffff && f === 0) return inner("IPv4-translated")
  if (zeroUpTo(6) && (gg !== 0 || h > 1)) return inner("IPv4-compatible")
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return inner("NAT64")
  if ((a & 0xffc0) === 0xfe80) return Option.some("an IPv6 link-local address (fe80::/10)")
  if ((a & 0xffc0) === 0xfec0) return Option.some("an IPv6 site-local address (fec0::/10)")
  if ((a & 0xfe00) === 0xfc00)
    return Option.some("an IPv6 unique-local address (fc00::/7), a private network")
  if ((a & 0xff00) === 0xff00) return Option.some("an IPv6 multicast address (ff00::/8)")
  return Option.none()
}

/**
 * Why an IP address (v4 or v6, brackets and zone allowed) is not a public server's address, in
 * words; none when it is public. Text that is no IP address at all is refused too.
 */
export const classifyAddress = (address: string): Option.Option<string> => {
  const n = v4(address)
  if (n !== undefined) return classify4(n)
  const g = v6(address)
  if (g !== undefined) return classify6(g)
  return Option.some(`${JSON.stringify(address)} is not an IP address`)
}

// --- URLs ------------------------------------------------------------------------------------

/** The URL as it may be shown and logged: without user name and password. */
export const shown = (url: URL): string => {
  const copy = new URL(url.href)
  copy.username = ""
  copy.password = ""
  return copy.href
}

/** Resolves a host name to every address it has. */
export type Resolver = (hostname: string) => Effect.Effect<ReadonlyArray<string>, string>

export const systemResolver: Resolver = (hostname) =>
  Effect.tryPromise({
    try: () => lookup(hostname, { all: true, verbatim: true }),
    catch: (e) =>
      typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
        ? e.code
        : "lookup failed"
  }).pipe(Effect.map((found) => found.map((a) => a.address)))

export interface UrlGuardShape {
  /** Parses and checks a URL a person typed; the URL as parsed. */
  readonly check: (url: string) => Effect.Effect<URL, UrlRejected>
  /** The same check for a URL already parsed: CalDavClient's `checkUrl`, asked before each request. */
  readonly checkUrl: (url: URL) => Effect.Effect<void, UrlRejected>
}

export interface Options {
  readonly allowPrivateUrls: boolean
  /** Defaults to the system's resolver (node:dns lookup, all addresses). */
  readonly resolve?: Resolver
}

export const make = (options: Options): UrlGuardShape => {
  const resolve = options.resolve ?? systemResolver

  const checkUrl = (url: URL): Effect.Effect<void, UrlRejected> =>
    Effect.gen(function* () {
      const refuse = (reason: string) => Effect.fail(new UrlRejected({ url: shown(url), reason }))
      if (url.protocol !== "https:" && url.protocol !== "http:")
        return yield* refuse(`only https:// (or http://) URLs can be used, not ${url.protocol}`)
      if (url.username !== "" || url.password !== "")
        return yield* refuse(
          "the URL contains a user name or password; remove them from the URL and give them in the user name and password fields"
        )
      const host = url.hostname.replace(/^\[|\]$/g, "")
      if (host === "") return yield* refuse("the URL has no host name")
      if (options.allowPrivateUrls) return
      if (isIP(host) !== 0) {
        const why = classifyAddress(host)
        if (Option.isSome(why)) return yield* refuse(`${host} is ${why.value}. ${howToAllow}`)
        return
      }
      const addresses = yield* resolve(host).pipe(
        Effect.mapError(
          (code) =>
            new UrlRejected({
              url: shown(url),
              reason: `the host name ${host} could not be resolved (${code}); check its spelling`
            })
        )
      )
      if (addresses.length === 0) return yield* refuse(`the host name ${host} has no address`)
      for (const address of addresses) {
        const why = classifyAddress(address)
        if (Option.isSome(why))
          return yield* refuse(`${host} resolves to ${address}, ${why.value}. ${howToAllow}`)
      }
    })

  const check = (text: string): Effect.Effect<URL, UrlRejected> =>
    Effect.gen(function* () {
      const url = yield* Effect.try({
        try: () => new URL(text.trim()),
        catch: () =>
          new UrlRejected({
            // Never echo what may hold a password: only a URL that parsed is shown.
            url: "(not a URL)",
            reason: "not an absolute URL; it should look like https://caldav.example.com/"
          })
      })
      yield* checkUrl(url)
      return url
    })

  return { check, checkUrl }
}

/**
 * The first run: a server with no user offers, on its front page, to create the first user, its
 * owner. Whoever does that first owns the server, so it is allowed only to a browser on the
 * server's own machine, or to one that gives the one-time setup code the server logs when it
 * starts without users (a server behind a proxy or on another host). The code lives only in this
 * process's memory, is compared in constant time and is gone once anyone exists.
 *
 * "On this machine" means the socket's peer is a loopback address, and nothing says otherwise:
 * a request that came through a proxy (Forwarded, X-Forwarded-For, X-Real-IP) is not local even
 * when the proxy runs on this machine, and the Host header must name a loopback host, so that a
 * web page using DNS rebinding (Host: its own name, pointing at 127.0.0.1) is not local either.
 * Headers can only take the privilege away, never give it.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"
import type { SyncStore } from "@almanac/core"
import { Context, Effect, Layer, Option, Redacted, Ref } from "effect"
import { type User, Users } from "../store/Users.js"

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. */
export const isLoopbackAddress = (address: string): boolean => {
  const bare = address.toLowerCase()
  const v4 = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare
  if (isIP(v4) === 4) return v4.startsWith("127.")
  return isIP(bare) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(bare)
}

/** The host part of a Host header (`name`, `name:port`, `[v6]:port`), lower-cased. */
const hostName = (host: string): string => {
  const lower = host.trim().toLowerCase()
  if (lower.startsWith("[")) return lower.slice(1, lower.indexOf("]") === -1 ? undefined : lower.indexOf("]"))
  const colon = lower.lastIndexOf(":")
  return colon === -1 ? lower : lower.slice(0, colon)
}

const isLoopbackHost = (host: string): boolean => {
  const name = hostName(host)
  return name === "localhost" || isLoopbackAddress(name)
}

const proxyHeaders = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip"] as const

/** What the first-run check needs of a request. */
export interface RequestFacts {
  /** The TCP peer of the socket, as the operating system reports it. */
  readonly remoteAddress: string | undefined
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** True when the request comes straight from a browser on the server's own machine. */
export const isDirectLocal = (request: RequestFacts): boolean => {
  if (request.remoteAddress === undefined || !isLoopbackAddress(request.remoteAddress)) return false
  if (proxyHeaders.some((name) => (request.headers[name] ?? "") !== "")) return false
  const host = request.headers.host
  return host !== undefined && isLoopbackHost(host)
}

// 32 letters and digits without the look-alikes (0/O, 1/I): a byte's low five bits pick one
// without bias. Sixteen of them are 80 random bits.
const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

export const generateCode = (): string => {
  const bytes = randomBytes(16)
  const chars = Array.from(bytes, (b) => alphabet.charAt(b & 31))
  return [0, 4, 8, 12].map((at) => chars.slice(at, at + 4).join("")).join("-")
}

/** A code as typed: case, spaces and dashes do not matter. */
const normalize = (code: string): string => code.toUpperCase().replace(/[^A-Z0-9]/g, "")

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** Constant-time comparison of a typed code with the expected one (digests of equal length). */
export const sameCode = (expected: Redacted.Redacted<string>, given: Redacted.Redacted<string>): boolean =>
  timingSafeEqual(digest(normalize(Redacted.value(expected))), digest(normalize(Redacted.value(given))))

/** Why a request may, or may not, create the owner. */
export type Admission = "local" | "code" | "code-missing" | "code-wrong"

/** The policy, pure: a local browser needs no code; anyone else needs the right one. */
export const admission = (
  local: boolean,
  expected: Option.Option<Redacted.Redacted<string>>,
  given: Redacted.Redacted<string>
): Admission => {
  if (local) return "local"
  if (normalize(Redacted.value(given)) === "") return "code-missing"
  return Option.isSome(expected) && sameCode(expected.value, given) ? "code" : "code-wrong"
}

export type CreateOwnerResult =
  | { readonly _tag: "Created"; readonly user: User }
  | { readonly _tag: "Closed" }
  | { readonly _tag: "Refused"; readonly admission: "code-missing" | "code-wrong" }

export interface FirstRunShape {
  /** True while the server has no user: the front page offers to create the owner. */
  readonly open: Effect.Effect<boolean, SyncStore.StoreError>
  /**
   * Creates the owner if the request is admitted and the server still has no user; the code is
   * then gone. Whether the server is still open is for the caller to ask first (`open`), so that a
   * closed server answers "closed" whatever the request says.
   */
  readonly createOwner: (request: {
    readonly name: string
    readonly local: boolean
    readonly code: Redacted.Redacted<string>
  }) => Effect.Effect<CreateOwnerResult, SyncStore.StoreError>
}

export class FirstRun extends Context.Tag("@almanac/server/FirstRun")<FirstRun, FirstRunShape>() {}

export const make: Effect.Effect<FirstRunShape, SyncStore.StoreError, Users> = Effect.gen(function* () {
  const users = yield* Users
  const empty = yield* users.isEmpty
  const code = yield* Ref.make(Option.none<Redacted.Redacted<string>>())
  if (empty) {
    const fresh = generateCode()
    yield* Ref.set(code, Option.some(Redacted.make(fresh)))
    // The one place the code appears: whoever reads the server's log may create the owner.
    yield* Effect.logInfo(
      `no user exists yet: open the settings pages in a browser on this machine to create the owner, or from elsewhere with the one-time setup code ${fresh}`
    )
  }
  const lock = yield* Effect.makeSemaphore(1)
  const forget = Ref.set(code, Option.none())
  const open = Effect.tap(users.isEmpty, (isEmpty) => (isEmpty ? Effect.void : forget))
  return {
    open,
    // One at a time in this process: the count-then-insert of createFirst is a transaction, which
    // SQLite serializes but PostgreSQL at READ COMMITTED would not.
    createOwner: (request) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const admitted = admission(request.local, yield* Ref.get(code), request.code)
          if (admitted === "code-missing" || admitted === "code-wrong")
            return { _tag: "Refused", admission: admitted } as const
          const created = yield* users.createFirst(request.name)
          // Used, or someone else was first: either way the code has done its work.
          yield* forget
          return Option.match(created, {
            onNone: () => ({ _tag: "Closed" }) as const,
            onSome: (user) => ({ _tag: "Created", user }) as const
          })
        })
      )
  }
})

export const layer: Layer.Layer<FirstRun, SyncStore.StoreError, Users> = Layer.effect(FirstRun, make)

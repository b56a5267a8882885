/**
 * Retries inside a request, on the real test servers behind the fault-injecting proxy: one
 * transient fault no longer fails the call, a conditional write whose answer was lost meets its
 * own precondition, and what cannot be repeated safely is sent once.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as FaultProxy from "../../../scripts/test-servers/FaultProxy.js"
import { CalDavClient } from "../src/index.js"
import * as Exchange from "../src/internal/exchange.js"
import * as Retry from "../src/internal/retry.js"
import { caldavServers, event, unique } from "./support/servers.js"

describe("which requests may be repeated", () => {
  layer(NodeHttpClient.layer)((it) => {
    it("safe methods and conditional writes only", () => {
      for (const m of ["GET", "PROPFIND", "REPORT", "HEAD", "OPTIONS"])
        expect(Retry.repeatable(m, {})).toBe(true)
      expect(Retry.repeatable("PUT", { "If-None-Match": "*" })).toBe(true)
      expect(Retry.repeatable("PUT", { "if-match": '"e1"' })).toBe(true)
      expect(Retry.repeatable("DELETE", { "if-match": '"e1"' })).toBe(true)
      expect(Retry.repeatable("PUT", {})).toBe(false)
      expect(Retry.repeatable("PUT", undefined)).toBe(false)
      expect(Retry.repeatable("DELETE", { "content-type": "text/plain" })).toBe(false)
      expect(Retry.repeatable("MKCALENDAR", {})).toBe(false)
      expect(Retry.repeatable("POST", { "if-match": '"e1"' })).toBe(false)
    })
  })
})

describe.each(caldavServers())("retries on $name behind the fault proxy", (server) => {
  let proxy: FaultProxy.FaultProxy
  beforeAll(async () => {
    proxy = await FaultProxy.start(server.url, { seed: 1, rate: 0, slowMillis: 800 })
  })
  afterAll(() => proxy.close())

  const via = (url: string) => new URL(new URL(url).pathname, proxy.url).href

  layer(NodeHttpClient.layer, { excludeTestServices: true })((it) => {
    const client = (options: Partial<CalDavClient.ClientOptions> = {}) =>
      CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("not-checked-by-the-test-servers") },
        timeout: "400 millis",
        retry: { baseDelay: "5 millis" },
        ...options
      })

    const calendar = Effect.gen(function* () {
      const direct = yield* client({ timeout: "10 seconds" })
      const url = `${server.home}${unique("retry")}/`
      yield* direct.mkcalendar(url, { displayName: "retry test" })
      return { direct, url: via(url) }
    })

    /** Requests the proxy sees while `body` runs. */
    const counted = <A, E, R>(body: Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const before = proxy.requests()
        const result = yield* body
        return { result, requests: proxy.requests() - before }
      })

    it.effect("a single 503 with a short Retry-After no longer fails the call", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client()
        proxy.failNext("503")
        const { result, requests } = yield* counted(Effect.either(c.collectionState(url)))
        expect(result._tag).toBe("Right")
        expect(requests).toBe(2)
        expect(proxy.injected.at(-1)?.fault).toBe("503")
      })
    )

    it.effect("Retry-After: 1 is honoured: the second attempt comes a second later, not 5 ms", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const slowProxy = yield* Effect.promise(() =>
          FaultProxy.start(server.url, { seed: 2, rate: 0, retryAfterSeconds: [1] })
        )
        const c = yield* client()
        slowProxy.failNext("503")
        const started = Date.now()
        const state = yield* Effect.either(
          c.collectionState(new URL(new URL(url).pathname, slowProxy.url).href)
        )
        const took = Date.now() - started
        yield* Effect.promise(() => slowProxy.close())
        expect(state._tag).toBe("Right")
        expect(slowProxy.requests()).toBe(2)
        expect(took).toBeGreaterThanOrEqual(1000)
      })
    )

    it.effect("a Retry-After longer than the cap is not waited for: RateLimited after one request", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client({ retry: { baseDelay: "5 millis", maxRetryAfter: "500 millis" } })
        const slowProxy = yield* Effect.promise(() =>
          FaultProxy.start(server.url, { seed: 3, rate: 0, retryAfterSeconds: [1] })
        )
        slowProxy.failNext("429")
        const err = yield* Effect.flip(c.collectionState(new URL(new URL(url).pathname, slowProxy.url).href))
        yield* Effect.promise(() => slowProxy.close())
        expect(err._tag).toBe("RateLimited")
        expect(slowProxy.requests()).toBe(1)
      })
    )

    it.effect("each transient fault once: reads still succeed", () =>
      Effect.gen(function* () {
        const { direct, url } = yield* calendar
        const uid = unique("uid")
        const directUrl = `${server.home}${new URL(url).pathname.split("/").at(-2)}/`
        yield* direct.put(`${directUrl}${uid}.ics`, event(uid, "Lunch"), CalDavClient.Create)
        const c = yield* client()
        const faults: ReadonlyArray<FaultProxy.Fault> = [
          "reset-before-headers",
          "reset-mid-body",
          "truncated-body",
          "slow",
          "429",
          "500"
        ]
        for (const fault of faults) {
          proxy.failNext(fault)
          const { result, requests } = yield* counted(Effect.either(c.listEtags(url)))
          expect([fault, result._tag]).toEqual([fault, "Right"])
          expect([fault, requests]).toEqual([fault, 2])
          proxy.failNext(fault)
          const got = yield* Effect.either(c.multiget(url, [`${url}${uid}.ics`]))
          expect([fault, got._tag === "Right" ? got.right.found.length : got.left._tag]).toEqual([fault, 1])
        }
      })
    )

    it.effect("a duplicated <response> row lists the member once", () =>
      Effect.gen(function* () {
        const { direct, url } = yield* calendar
        const directUrl = `${server.home}${new URL(url).pathname.split("/").at(-2)}/`
        for (const uid of [unique("a"), unique("b")])
          yield* direct.put(`${directUrl}${uid}.ics`, event(uid, "Lunch"), CalDavClient.Create)
        const c = yield* client()
        proxy.failNext("duplicate-response")
        const listed = yield* c.listEtags(url)
        expect(proxy.injected.at(-1)?.fault).toBe("duplicate-response")
        expect(listed.length).toBe(2)
        proxy.failNext("duplicate-response")
        const delta = yield* c.syncCollection(url, Option.none())
        expect(delta.changed.length).toBe(2)
      })
    )

    it.effect("attempts are bounded: three 500s in a row fail the call as Transient after 3 requests", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client()
        proxy.failNext("500", "500", "500", "500")
        const { result, requests } = yield* counted(Effect.either(c.collectionState(url)))
        expect(result._tag === "Left" ? result.left._tag : "Right").toBe("Transient")
        expect(requests).toBe(3)
        // the fourth queued fault is still there; spend it
        yield* Effect.either(c.collectionState(url))
      })
    )

    it.effect("a create whose answer was lost meets its own If-None-Match on the retry (412)", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client()
        const uid = unique("lost")
        proxy.failNext("reset-before-headers")
        const { result, requests } = yield* counted(
          Effect.either(c.put(`${url}${uid}.ics`, event(uid, "Lunch"), CalDavClient.Create))
        )
        expect(result._tag === "Left" ? result.left._tag : "Right").toBe("EtagMismatch")
        expect(requests).toBe(2)
        // It is there, once.
        const listed = yield* c.listEtags(url)
        expect(listed.map((i) => i.href)).toEqual([`${url}${uid}.ics`])

        // An update whose answer was lost: the retry's If-Match is stale now.
        const etag = listed[0]?.etag ?? ""
        proxy.failNext("reset-before-headers")
        const updated = yield* Effect.either(
          c.put(`${url}${uid}.ics`, event(uid, "Dinner"), CalDavClient.Update(etag))
        )
        expect(updated._tag === "Left" ? updated.left._tag : "Right").toBe("EtagMismatch")
        expect((yield* c.get(`${url}${uid}.ics`)).data).toContain("SUMMARY:Dinner")

        // A delete whose answer was lost: the retry finds nothing.
        const now = (yield* c.listEtags(url))[0]?.etag ?? ""
        proxy.failNext("reset-before-headers")
        const removed = yield* Effect.either(c.remove(`${url}${uid}.ics`, now))
        expect(removed._tag === "Left" ? removed.left._tag : "Right").toBe("NotFound")
        expect(yield* c.listEtags(url)).toEqual([])
      })
    )

    it.effect("MKCALENDAR, which has no precondition, is sent once: a 503 fails it", () =>
      Effect.gen(function* () {
        const c = yield* client()
        proxy.failNext("503")
        const { result, requests } = yield* counted(
          Effect.either(c.mkcalendar(via(`${server.home}${unique("mk")}/`), { displayName: "x" }))
        )
        expect(result._tag === "Left" ? result.left._tag : "Right").toBe("RateLimited")
        expect(requests).toBe(1)
      })
    )

    it.effect("an unconditional PUT is sent once, whatever the answer", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const exchanger = yield* Exchange.make({
          credentials: Option.none(),
          timeout: Duration.seconds(5),
          maxBodyBytes: 1_000_000,
          maxRedirects: 0,
          checkUrl: Option.none(),
          retry: { ...Retry.defaultPolicy, baseDelay: Duration.millis(5) }
        })
        const uid = unique("plain")
        for (const fault of ["500", "reset-before-headers"] as const) {
          proxy.failNext(fault)
          const { result, requests } = yield* counted(
            Effect.either(exchanger.send({ method: "PUT", url: `${url}${uid}.ics`, body: event(uid, "x") }))
          )
          expect([fault, requests]).toEqual([fault, 1])
          expect([fault, result._tag === "Right" ? result.right.status : result.left._tag]).toEqual([
            fault,
            fault === "500" ? 500 : "Transient"
          ])
        }
        // The same request with a precondition is repeated.
        proxy.failNext("500")
        const { requests } = yield* counted(
          exchanger.send({
            method: "PUT",
            url: `${url}${uid}-2.ics`,
            headers: { "if-none-match": "*" },
            body: event(`${uid}-2`, "x")
          })
        )
        expect(requests).toBe(2)
      })
    )

    it.effect("a 500 to a sync-collection with a token is its rejection: asked once, TokenInvalid", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client()
        const { token } = yield* c.syncCollection(url, Option.none())
        proxy.failNext("500")
        const { result, requests } = yield* counted(Effect.either(c.syncCollection(url, Option.some(token))))
        expect(result._tag === "Left" ? result.left._tag : "Right").toBe("TokenInvalid")
        expect(requests).toBe(1)
        // Without a token the same 500 is a passing fault, asked again.
        proxy.failNext("500")
        const again = yield* counted(Effect.either(c.syncCollection(url, Option.none())))
        expect(again.result._tag).toBe("Right")
        expect(again.requests).toBe(2)
      })
    )

    it.effect("attempts: 1 turns retrying off", () =>
      Effect.gen(function* () {
        const { url } = yield* calendar
        const c = yield* client({ retry: { attempts: 1 } })
        proxy.failNext("500")
        const { result, requests } = yield* counted(Effect.either(c.collectionState(url)))
        expect(result._tag === "Left" ? result.left._tag : "Right").toBe("Transient")
        expect(requests).toBe(1)
      })
    )
  })
})

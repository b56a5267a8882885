/**
 * Sync relationships through the real HTTP API, with the real engine writing to real Xandikos and
 * Radicale calendars: create, two-way, pause and resume, a changed privacy option, clean and
 * plain removal, the 400s that say what to fix, and another user's 404s everywhere.
 */
import { randomUUID } from "node:crypto"
import { ICalCodec } from "@almanac/providers"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

interface RelationshipBody {
  readonly id: string
  readonly sourceCalendarId: string
  readonly targetCalendarId: string
  readonly direction: string
  readonly markPrivate: boolean
  readonly transp: string
  readonly attendees: boolean
  readonly window: { readonly pastDays: number; readonly futureDays: number } | null
  readonly paused: boolean
  readonly copies: number
}

interface StatusBody {
  readonly polls: number
  readonly lastPollAt: string | null
}

const as = <A>(body: unknown) => body as A

/** Requests as one user. */
const client = (server: TestServer.TestServer, token: string) => {
  const call = (method: string, path: string, body?: unknown) =>
    Effect.promise(() => server.request(method, path, body === undefined ? { token } : { token, body }))
  /** Asks for a poll of the calendar and waits until a poll that started after the request is recorded. */
  const syncAndWait = (calendarId: string) =>
    Effect.gen(function* () {
      const asked = Date.now()
      expect((yield* call("POST", `/api/calendars/${calendarId}/sync`)).status).toBe(202)
      yield* Fixtures.waitFor(
        `a poll of ${calendarId}`,
        call("GET", `/api/calendars/${calendarId}/status`).pipe(Effect.map((r) => as<StatusBody>(r.body))),
        (s) => s.lastPollAt !== null && Date.parse(s.lastPollAt) >= asked
      )
    })
  return { call, syncAndWait }
}

const summaries = (calendar: Fixtures.Calendar) =>
  Fixtures.contents(calendar).pipe(
    Effect.map((items) => items.map((i) => Option.getOrNull(i.summary)).sort())
  )

describe("sync relationships", () => {
  it.live("a one-way private relationship copies an event as Busy, without its details", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Dentist"))

      const created = yield* call("POST", "/api/relationships", {
        sourceCalendarId: source.id,
        targetCalendarId: target.id,
        markPrivate: true
      })
      expect(created.status).toBe(201)
      const relationship = as<RelationshipBody>(created.body)
      expect(relationship).toMatchObject({
        sourceCalendarId: source.id,
        targetCalendarId: target.id,
        direction: "one-way",
        markPrivate: true,
        transp: "keep",
        attendees: false,
        window: null,
        paused: false
      })
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)

      const copies = yield* Fixtures.waitFor(
        "the Busy copy",
        Fixtures.contents(target),
        (c) => c.length === 1
      )
      expect(copies.map((c) => Option.getOrNull(c.summary))).toEqual(["Busy"])
      expect(copies.map((c) => Option.getOrNull(c.location))).toEqual([null])
      yield* Fixtures.waitFor(
        "the copy to be counted",
        call("GET", `/api/relationships/${relationship.id}`).pipe(
          Effect.map((r) => as<RelationshipBody>(r.body))
        ),
        (r) => r.copies === 1
      )
      const listed = yield* call("GET", "/api/relationships")
      expect(listed.status).toBe(200)
      expect(as<ReadonlyArray<RelationshipBody>>(listed.body).map((r) => [r.id, r.copies])).toEqual([
        [relationship.id, 1]
      ])
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live(
    "a two-way mirror is one relationship and copies each side's events to the other, without echoes",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const { call, syncAndWait } = client(server, ann.token)
        const [left] = yield* Fixtures.account(server, ann.token, "radicale", 1)
        const [right] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
        if (left === undefined || right === undefined) throw new Error("no calendars")
        yield* Fixtures.put(left, Fixtures.event(randomUUID(), "left meeting"))
        yield* Fixtures.put(right, Fixtures.event(randomUUID(), "right meeting"))

        const created = yield* call("POST", "/api/relationships", {
          sourceCalendarId: left.id,
          targetCalendarId: right.id,
          direction: "two-way",
          markPrivate: false
        })
        expect(created.status).toBe(201)
        const relationship = as<RelationshipBody>(created.body)
        expect(relationship.direction).toBe("two-way")

        yield* Fixtures.waitFor(
          "both sides mirrored",
          Effect.all([summaries(left), summaries(right)]),
          ([l, r]) => [l, r].every((s) => s.length === 2)
        )
        // More polls of both sides change nothing: copies are never copied back.
        yield* syncAndWait(left.id)
        yield* syncAndWait(right.id)
        yield* syncAndWait(left.id)
        expect(yield* summaries(left)).toEqual(["left meeting", "right meeting"])
        expect(yield* summaries(right)).toEqual(["left meeting", "right meeting"])

        const listed = as<ReadonlyArray<RelationshipBody>>((yield* call("GET", "/api/relationships")).body)
        expect(listed.map((r) => [r.id, r.direction, r.copies])).toEqual([[relationship.id, "two-way", 2]])
        // Either end of the pair is the same one relationship, and it cannot be created again.
        const again = yield* call("POST", "/api/relationships", {
          sourceCalendarId: right.id,
          targetCalendarId: left.id,
          direction: "two-way"
        })
        expect(again.status).toBe(400)
        expect(JSON.stringify(again.body)).toContain("already mirrored both ways")
      }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("pause stops copying; resume copies what arrived meanwhile", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call, syncAndWait } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "before the pause"))
      const relationship = as<RelationshipBody>(
        (yield* call("POST", "/api/relationships", {
          sourceCalendarId: source.id,
          targetCalendarId: target.id,
          markPrivate: false
        })).body
      )
      yield* Fixtures.waitFor("the first copy", summaries(target), (s) => s.length === 1)

      const paused = yield* call("PATCH", `/api/relationships/${relationship.id}`, { paused: true })
      expect(paused.status).toBe(200)
      expect(as<RelationshipBody>(paused.body).paused).toBe(true)
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "during the pause"))
      yield* syncAndWait(source.id)
      expect(yield* summaries(target)).toEqual(["before the pause"])

      const resumed = yield* call("PATCH", `/api/relationships/${relationship.id}`, { paused: false })
      expect(as<RelationshipBody>(resumed.body).paused).toBe(false)
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)
      const after = yield* Fixtures.waitFor(
        "the copy made after resuming",
        summaries(target),
        (s) => s.length === 2
      )
      expect(after).toEqual(["before the pause", "during the pause"])
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("turning privacy off rewrites the existing copy with the real title", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Standup"))
      const relationship = as<RelationshipBody>(
        (yield* call("POST", "/api/relationships", {
          sourceCalendarId: source.id,
          targetCalendarId: target.id
        })).body
      )
      // Private is the default.
      expect(relationship.markPrivate).toBe(true)
      yield* Fixtures.waitFor("the Busy copy", summaries(target), (s) => s.length === 1 && s[0] === "Busy")

      const changed = yield* call("PATCH", `/api/relationships/${relationship.id}`, {
        markPrivate: false,
        transp: "transparent"
      })
      expect(changed.status).toBe(200)
      expect(as<RelationshipBody>(changed.body)).toMatchObject({ markPrivate: false, transp: "transparent" })
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)
      const copies = yield* Fixtures.waitFor(
        "the copy with its real title",
        Fixtures.contents(target),
        (c) => c.length === 1 && Option.contains(c[0]?.summary ?? Option.none(), "Standup")
      )
      expect(copies.map((c) => Option.getOrNull(c.location))).toEqual(["room of Standup"])
      expect(copies.map((c) => Option.getOrNull(Option.flatMap(c.resource.master, (m) => m.transp)))).toEqual(
        ["TRANSPARENT"]
      )
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("a clean removal deletes the copies nobody changed; a plain one leaves them", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const [cleaned] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      const [kept] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      if (source === undefined || cleaned === undefined || kept === undefined) throw new Error("no calendars")
      for (const title of ["one", "two", "three"])
        yield* Fixtures.put(source, Fixtures.event(randomUUID(), title))
      const create = (targetCalendarId: string) =>
        call("POST", "/api/relationships", {
          sourceCalendarId: source.id,
          targetCalendarId,
          markPrivate: false
        }).pipe(Effect.map((r) => as<RelationshipBody>(r.body)))
      const first = yield* create(cleaned.id)
      yield* Fixtures.waitFor("copies in the first target", summaries(cleaned), (s) => s.length === 3)
      // A second relationship from an already synced calendar copies its existing events too.
      const second = yield* create(kept.id)
      yield* Fixtures.waitFor("copies in the second target", summaries(kept), (s) => s.length === 3)

      // Paused, so no poll puts the copies back while someone edits and deletes them.
      yield* call("PATCH", `/api/relationships/${first.id}`, { paused: true })
      const copies = yield* Fixtures.contents(cleaned)
      const edited = copies.find((c) => Option.contains(c.summary, "one"))
      const deleted = copies.find((c) => Option.contains(c.summary, "two"))
      if (edited === undefined || deleted === undefined) throw new Error("copies missing")
      yield* cleaned.client
        .put(
          edited.href,
          ICalCodec.serialize({
            ...edited.resource,
            master: Option.map(edited.resource.master, (m) => ({
              ...m,
              summary: Option.some("one, with my notes")
            }))
          }),
          { _tag: "Update", etag: edited.etag }
        )
        .pipe(Effect.orDie)
      yield* cleaned.client.remove(deleted.href, deleted.etag).pipe(Effect.orDie)

      const clean = yield* call("DELETE", `/api/relationships/${first.id}?clean=true`)
      expect(clean.status).toBe(200)
      expect(clean.body).toMatchObject({ clean: true, removed: 1, alreadyGone: 1, left: 0 })
      const keptCopies = (clean.body as { kept: ReadonlyArray<{ href: string; reason: string }> }).kept
      expect(keptCopies.map((k) => new URL(k.href, cleaned.url).pathname)).toEqual([
        new URL(edited.href, cleaned.url).pathname
      ])
      expect(keptCopies[0]?.reason).toContain("changed on the target")
      expect(yield* summaries(cleaned)).toEqual(["one, with my notes"])
      expect((yield* call("GET", `/api/relationships/${first.id}`)).status).toBe(404)

      const plain = yield* call("DELETE", `/api/relationships/${second.id}`)
      expect(plain.status).toBe(200)
      expect(plain.body).toEqual({ clean: false, removed: 0, alreadyGone: 0, kept: [], left: 3 })
      expect(yield* summaries(kept)).toEqual(["one", "three", "two"])
      expect(as<ReadonlyArray<unknown>>((yield* call("GET", "/api/relationships")).body)).toEqual([])
      // The source is untouched by either.
      expect(yield* summaries(source)).toEqual(["one", "three", "two"])
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("bad requests get a 400 that says what to fix", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call } = client(server, ann.token)
      const [a, b] = yield* Fixtures.account(server, ann.token, "radicale", 2)
      if (a === undefined || b === undefined) throw new Error("no calendars")
      const refused = (body: unknown, text: string) =>
        Effect.gen(function* () {
          const res = yield* call("POST", "/api/relationships", body)
          expect(res.status, JSON.stringify(res.body)).toBe(400)
          expect(JSON.stringify(res.body)).toContain(text)
        })
      yield* refused({ sourceCalendarId: a.id, targetCalendarId: a.id }, "cannot sync into itself")
      yield* refused(
        { sourceCalendarId: a.id, targetCalendarId: b.id, window: { pastDays: 5000, futureDays: 30 } },
        "window.pastDays: a whole number of days from 0 to 3650"
      )
      yield* refused(
        { sourceCalendarId: a.id, targetCalendarId: b.id, window: { pastDays: 7, futureDays: -1 } },
        "window.futureDays"
      )
      yield* refused({ sourceCalendarId: a.id, targetCalendarId: b.id, direction: "sideways" }, "two-way")
      yield* refused({ sourceCalendarId: a.id, targetCalendarId: b.id, transp: "busy" }, "transparent")

      const created = yield* call("POST", "/api/relationships", {
        sourceCalendarId: a.id,
        targetCalendarId: b.id,
        window: { pastDays: 7, futureDays: 90 }
      })
      expect(created.status).toBe(201)
      const id = as<RelationshipBody>(created.body).id
      expect(as<RelationshipBody>(created.body).window).toEqual({ pastDays: 7, futureDays: 90 })
      yield* refused({ sourceCalendarId: a.id, targetCalendarId: b.id }, "already exists")
      yield* refused({ sourceCalendarId: b.id, targetCalendarId: a.id }, "make a loop")
      yield* refused(
        { sourceCalendarId: b.id, targetCalendarId: a.id, direction: "two-way" },
        "remove it first"
      )

      const patch = (body: unknown) => call("PATCH", `/api/relationships/${id}`, body)
      const empty = yield* patch({})
      expect(empty.status).toBe(400)
      expect(JSON.stringify(empty.body)).toContain("nothing to change")
      const turned = yield* patch({ direction: "two-way" })
      expect(turned.status).toBe(400)
      expect(JSON.stringify(turned.body)).toContain("cannot be changed")
      const far = yield* patch({ window: { pastDays: 1, futureDays: 4000 } })
      expect(far.status).toBe(400)
      expect(JSON.stringify(far.body)).toContain("window.futureDays")
      // Nothing of the refused changes was written; null removes the window.
      const unwindowed = yield* patch({ window: null })
      expect(unwindowed.status).toBe(200)
      expect(as<RelationshipBody>(unwindowed.body)).toMatchObject({ window: null, direction: "one-way" })

      const unknown = yield* call("POST", "/api/relationships", {
        sourceCalendarId: a.id,
        targetCalendarId: "no-such-calendar"
      })
      expect(unknown.status).toBe(404)
      expect(JSON.stringify(unknown.body)).toContain("targetCalendarId")
      const badClean = yield* call("DELETE", `/api/relationships/${id}?clean=maybe`)
      expect(badClean.status).toBe(400)
      expect((yield* call("GET", `/api/relationships/${id}`)).status).toBe(200)
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("the OpenAPI document describes the relationship and status endpoints", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const res = yield* Effect.promise(() => server.request("GET", "/openapi.json"))
      expect(res.status).toBe(200)
      const paths = (res.body as { paths: Record<string, Record<string, { description?: string }>> }).paths
      expect(Object.keys(paths)).toEqual(
        expect.arrayContaining([
          "/api/relationships",
          "/api/relationships/{relationshipId}",
          "/api/status",
          "/api/calendars/{calendarId}/status",
          "/api/calendars/{calendarId}/sync",
          "/api/calendars/{calendarId}/confirm-deletes"
        ])
      )
      expect(paths["/api/relationships/{relationshipId}"]?.delete?.description).toContain("clean unsync")
      expect(paths["/api/relationships"]?.post?.description).toContain("private copies")
      expect(paths["/api/calendars/{calendarId}/confirm-deletes"]?.post?.description).toContain("safety stop")
    }).pipe(Effect.scoped)
  )

  it.live("another user gets 404 for the first user's relationship and calendars, on every endpoint", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const bob = yield* Effect.promise(() => server.createUser("Bob"))
      const asAnn = client(server, ann.token)
      const asBob = client(server, bob.token)
      const [source, target] = yield* Fixtures.account(server, ann.token, "xandikos", 2)
      const [bobs] = yield* Fixtures.account(server, bob.token, "radicale", 1)
      if (source === undefined || target === undefined || bobs === undefined) throw new Error("no calendars")
      const created = yield* asAnn.call("POST", "/api/relationships", {
        sourceCalendarId: source.id,
        targetCalendarId: target.id
      })
      const id = as<RelationshipBody>(created.body).id

      const attempts: ReadonlyArray<readonly [string, string, unknown?]> = [
        ["GET", `/api/relationships/${id}`],
        ["PATCH", `/api/relationships/${id}`, { paused: true }],
        ["DELETE", `/api/relationships/${id}`],
        ["DELETE", `/api/relationships/${id}?clean=true`],
        ["POST", "/api/relationships", { sourceCalendarId: source.id, targetCalendarId: target.id }],
        ["POST", "/api/relationships", { sourceCalendarId: bobs.id, targetCalendarId: target.id }],
        ["POST", "/api/relationships", { sourceCalendarId: source.id, targetCalendarId: bobs.id }],
        ["GET", `/api/calendars/${source.id}/status`],
        ["POST", `/api/calendars/${source.id}/sync`],
        ["POST", `/api/calendars/${target.id}/confirm-deletes`]
      ]
      for (const [method, path, body] of attempts) {
        const res = yield* asBob.call(method, path, body)
        expect(res.status, `${method} ${path}`).toBe(404)
        // The answer is the same as for something that does not exist.
        expect(JSON.stringify(res.body)).not.toContain("Ann")
      }
      expect((yield* asBob.call("GET", "/api/relationships")).body).toEqual([])
      expect((yield* asBob.call("GET", "/api/status")).body).toEqual([])
      const missing = yield* asBob.call("GET", `/api/relationships/${randomUUID()}`)
      expect(missing.status).toBe(404)

      // Ann's relationship is untouched by all of it.
      const still = yield* asAnn.call("GET", `/api/relationships/${id}`)
      expect(still.status).toBe(200)
      expect(as<RelationshipBody>(still.body).paused).toBe(false)
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )
})

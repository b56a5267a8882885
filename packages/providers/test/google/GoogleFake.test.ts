/**
 * The Google fake's own contract, tested directly over HTTP, so that tests built on it can be
 * trusted: each case is a documented behaviour of Calendar API v3 or Google's OAuth endpoints
 * (docs/providers.md A.2–A.5, A.10, A.12, A.13).
 */
import { createHash } from "node:crypto"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as GoogleFake from "../fakes/GoogleFake.js"

let fake: GoogleFake.GoogleFake
let token: string
const CAL = "me@example.org"

beforeEach(async () => {
  fake = await GoogleFake.start({ pageSize: 3 })
  token = fake.issueTokens().accessToken
})
afterEach(() => fake.close())

interface Call {
  readonly query?: Record<string, string>
  readonly body?: unknown
  readonly ifMatch?: string
  readonly token?: string
}

/** The parts of the fake's answers these tests read; a wrong shape fails their expectations. */
interface WireItem {
  readonly id: string
  readonly status: string
  readonly etag: string
  readonly accessRole?: string
}
interface Answer {
  readonly items?: ReadonlyArray<WireItem>
  readonly nextPageToken?: string
  readonly nextSyncToken?: string
  readonly id?: string
  readonly etag?: string
  readonly iCalUID?: string
  readonly status?: string
  readonly organizer?: unknown
  readonly extendedProperties?: unknown
  readonly error?: { readonly errors: ReadonlyArray<{ readonly reason: string; readonly domain: string }> }
}
interface TokenAnswer {
  readonly access_token?: string
  readonly refresh_token?: string
  readonly error?: string
}
const tokenAnswer = async (res: Response): Promise<TokenAnswer> => JSON.parse(await res.text())
const reason = (a: Answer) => a.error?.errors[0]?.reason
const items = (a: Answer): ReadonlyArray<WireItem> => a.items ?? []

const call = async (method: string, path: string, c: Call = {}) => {
  const url = new URL(`${fake.apiUrl}${path}`)
  for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v)
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${c.token ?? token}`,
      ...(c.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(c.ifMatch !== undefined ? { "if-match": c.ifMatch } : {})
    },
    ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {})
  })
  const text = await res.text()
  const json: Answer = text === "" ? {} : JSON.parse(text)
  return { status: res.status, json, headers: res.headers }
}

const events = `/calendars/${encodeURIComponent(CAL)}/events`
const single = (id: string, day = 1) => ({
  id,
  summary: `event ${id}`,
  start: { dateTime: `2026-12-${String(day).padStart(2, "0")}T10:00:00`, timeZone: "Europe/Berlin" },
  end: { dateTime: `2026-12-${String(day).padStart(2, "0")}T11:00:00`, timeZone: "Europe/Berlin" }
})

/** A full list, page by page; the pages' shapes are returned too. */
const listAll = async (query: Record<string, string> = {}) => {
  const pages: Array<{ items: number; next: boolean; sync: boolean }> = []
  const listed: Array<WireItem> = []
  let pageToken: string | undefined
  let syncToken: string | undefined
  do {
    const r = await call("GET", events, { query: { ...query, ...(pageToken ? { pageToken } : {}) } })
    expect(r.status).toBe(200)
    listed.push(...items(r.json))
    pages.push({
      items: items(r.json).length,
      next: r.json.nextPageToken !== undefined,
      sync: r.json.nextSyncToken !== undefined
    })
    pageToken = r.json.nextPageToken
    syncToken = r.json.nextSyncToken
  } while (pageToken !== undefined)
  return { pages, items: listed, syncToken }
}

describe("GoogleFake (a fake of Calendar API v3)", () => {
  it("pages a full list in short pages and gives nextSyncToken only on the last page", async () => {
    for (let i = 0; i < 7; i++)
      expect((await call("POST", events, { body: single(`evt${i}00000`, i + 1) })).status).toBe(200)
    const { pages, items, syncToken } = await listAll({ singleEvents: "false" })
    expect(items).toHaveLength(7)
    expect(pages).toEqual([
      { items: 3, next: true, sync: false },
      { items: 3, next: true, sync: false },
      { items: 1, next: false, sync: true }
    ])
    expect(syncToken).toBeDefined()
  })

  it("answers a sync token with what changed, deletions as tombstones, and an idle token with no items", async () => {
    await call("POST", events, { body: single("keep00000") })
    const gone = await call("POST", events, { body: single("gone00000") })
    const { syncToken } = await listAll()
    const idle = await call("GET", events, { query: { syncToken: syncToken ?? "" } })
    expect(items(idle.json)).toEqual([])
    expect(idle.json.nextSyncToken).toBeDefined()
    fake.edit(CAL, "keep00000", { summary: "edited" })
    expect((await call("DELETE", `${events}/gone00000`, { ifMatch: gone.json.etag ?? "" })).status).toBe(204)
    const delta = await call("GET", events, { query: { syncToken: syncToken ?? "" } })
    expect(
      items(delta.json)
        .map((e) => [e.id, e.status])
        .sort()
    ).toEqual([
      ["gone00000", "cancelled"],
      ["keep00000", "confirmed"]
    ])
    const tomb = items(delta.json).find((e) => e.id === "gone00000")
    expect(Object.keys(tomb ?? {}).sort()).toEqual(["etag", "id", "kind", "status"])
    // A full list leaves the deleted event out, unless showDeleted.
    expect((await listAll()).items.map((e) => e.id)).toEqual(["keep00000"])
    expect((await listAll({ showDeleted: "true" })).items.map((e) => e.id).sort()).toEqual([
      "gone00000",
      "keep00000"
    ])
  })

  it("answers 410 fullSyncRequired to an expired sync token, and 400 to parameters forbidden beside it", async () => {
    const { syncToken } = await listAll()
    for (const extra of [
      { timeMin: "2026-01-01T00:00:00Z" },
      { iCalUID: "x" },
      { updatedMin: "2026-01-01T00:00:00Z" },
      { showDeleted: "false" }
    ]) {
      const r = await call("GET", events, { query: { syncToken: syncToken ?? "", ...extra } })
      expect(r.status).toBe(400)
      expect(reason(r.json)).toBe("syncTokenWithRequestRestrictions")
    }
    // A token is bound to the parameters of its stream.
    expect(
      (await call("GET", events, { query: { syncToken: syncToken ?? "", singleEvents: "false" } })).status
    ).toBe(410)
    fake.expireSyncTokens()
    const r = await call("GET", events, { query: { syncToken: syncToken ?? "" } })
    expect(r.status).toBe(410)
    expect(r.json.error?.errors[0]).toMatchObject({ reason: "fullSyncRequired", location: "syncToken" })
  })

  it("keeps etags: a stale If-Match is 412, the current one writes and changes the etag", async () => {
    const created = await call("POST", events, { body: single("etag00000") })
    const updated = await call("PUT", `${events}/etag00000`, {
      body: { ...single("etag00000"), summary: "v2" },
      ifMatch: created.json.etag ?? ""
    })
    expect(updated.status).toBe(200)
    expect(updated.json.etag).not.toBe(created.json.etag)
    const stale = await call("PUT", `${events}/etag00000`, {
      body: single("etag00000"),
      ifMatch: created.json.etag ?? ""
    })
    expect(stale.status).toBe(412)
    expect(reason(stale.json)).toBe("conditionNotMet")
    expect((await call("DELETE", `${events}/etag00000`, { ifMatch: created.json.etag ?? "" })).status).toBe(
      412
    )
    expect(
      (
        await call("PATCH", `${events}/etag00000`, {
          body: { location: "Room 1" },
          ifMatch: updated.json.etag ?? ""
        })
      ).json
    ).toMatchObject({
      summary: "v2",
      location: "Room 1"
    })
  })

  it("takes client ids by the base32hex rule (400 otherwise) and answers 409 duplicate to a taken one", async () => {
    for (const id of ["abcd", "ABCDE12345", "wxyz12345", "abc_de123"])
      expect((await call("POST", events, { body: single(id) })).status).toBe(400)
    expect((await call("POST", events, { body: single("abcde") })).status).toBe(200)
    const dup = await call("POST", events, { body: single("abcde") })
    expect(dup.status).toBe(409)
    expect(reason(dup.json)).toBe("duplicate")
    const generated = await call("POST", events, { body: { ...single("x"), id: undefined } })
    expect(generated.json.id).toMatch(/^[0-9a-v]+$/)
    expect(generated.json.iCalUID).toBe(`${generated.json.id}@google.com`)
    expect(generated.json.organizer).toEqual({ email: CAL, self: true })
  })

  it("answers 410 deleted to a second delete, 404 to an unknown id", async () => {
    await call("POST", events, { body: single("dbldel000") })
    expect((await call("DELETE", `${events}/dbldel000`)).status).toBe(204)
    const again = await call("DELETE", `${events}/dbldel000`)
    expect(again.status).toBe(410)
    expect(reason(again.json)).toBe("deleted")
    expect((await call("DELETE", `${events}/never0000`)).status).toBe(404)
    expect((await call("GET", `${events}/dbldel000`)).json.status).toBe("cancelled")
  })

  it("holds recurring masters with exceptions and cancelled instances under instance ids", async () => {
    const master = {
      id: "series000",
      summary: "Weekly",
      start: { dateTime: "2026-12-01T10:00:00", timeZone: "Europe/Berlin" },
      end: { dateTime: "2026-12-01T11:00:00", timeZone: "Europe/Berlin" },
      recurrence: ["RRULE:FREQ=WEEKLY;COUNT=4"],
      extendedProperties: { private: { almanacUid: "u-1" } }
    }
    expect(
      (await call("POST", events, { body: { ...master, start: { dateTime: "2026-12-01T10:00:00" } } })).status
    ).toBe(400)
    expect((await call("POST", events, { body: master })).status).toBe(200)
    const moved = await call("PUT", `${events}/series000_20261208T090000Z`, {
      body: {
        ...master,
        id: undefined,
        recurrence: undefined,
        summary: "Moved",
        start: { dateTime: "2026-12-08T14:00:00", timeZone: "Europe/Berlin" },
        end: { dateTime: "2026-12-08T15:00:00", timeZone: "Europe/Berlin" }
      }
    })
    expect(moved.status).toBe(200)
    expect(moved.json).toMatchObject({
      recurringEventId: "series000",
      originalStartTime: { dateTime: "2026-12-08T10:00:00+01:00" }
    })
    expect(moved.json.extendedProperties).toEqual({ private: { almanacUid: "u-1" } })
    // Not an occurrence of the rule: there is no such instance.
    expect((await call("PUT", `${events}/series000_20261209T090000Z`, { body: single("x") })).status).toBe(
      404
    )
    expect((await call("DELETE", `${events}/series000_20261215T090000Z`)).status).toBe(204)
    const full = await listAll()
    expect(full.items.map((e) => [e.id, e.status])).toEqual([
      ["series000", "confirmed"],
      ["series000_20261208T090000Z", "confirmed"],
      ["series000_20261215T090000Z", "cancelled"]
    ])
    const byUid = await call("GET", events, { query: { iCalUID: "series000@google.com" } })
    expect(items(byUid.json)).toHaveLength(3)
    expect(byUid.json.nextSyncToken).toBeUndefined()
    // Deleting the master deletes the series; incrementally every member is a tombstone.
    expect((await call("DELETE", `${events}/series000`)).status).toBe(204)
    expect((await listAll()).items).toEqual([])
    const delta = await call("GET", events, { query: { syncToken: full.syncToken ?? "" } })
    expect(items(delta.json).map((e) => e.status)).toEqual(["cancelled", "cancelled", "cancelled"])
  })

  it("answers rate limits and 5xx on demand, with Retry-After", async () => {
    fake.failNext(1, { status: 429, reason: "rateLimitExceeded", retryAfter: "7" })
    fake.failNext(1, { status: 403, reason: "userRateLimitExceeded" })
    fake.failNext(1, { status: 503, reason: "backendError" })
    const a = await call("GET", events)
    expect([a.status, a.headers.get("retry-after"), reason(a.json)]).toEqual([429, "7", "rateLimitExceeded"])
    const b = await call("GET", events)
    expect([b.status, reason(b.json), b.json.error?.errors[0]?.domain]).toEqual([
      403,
      "userRateLimitExceeded",
      "usageLimits"
    ])
    expect((await call("GET", events)).status).toBe(503)
    expect((await call("GET", events)).status).toBe(200)
  })

  it("records the invitations Google would send: any write with attendees and without sendUpdates=none", async () => {
    const withGuests = { ...single("guest0000"), attendees: [{ email: "ana@example.org" }] }
    await call("POST", events, { body: withGuests, query: { sendUpdates: "none" } })
    expect(fake.invitations).toEqual([])
    await call("PUT", `${events}/guest0000`, { body: withGuests })
    expect(fake.invitations).toEqual([
      {
        calendarId: CAL,
        eventId: "guest0000",
        method: "update",
        attendees: ["ana@example.org"],
        sendUpdates: undefined
      }
    ])
  })

  it("refuses a write to a calendar the account may only read", async () => {
    fake.addCalendar({ id: "holidays", summary: "Holidays", timeZone: "UTC", accessRole: "reader" })
    const r = await call("POST", "/calendars/holidays/events", { body: single("ro0000000") })
    expect(r.status).toBe(403)
    const list = await call("GET", "/users/me/calendarList")
    expect(items(list.json).map((c) => [c.id, c.accessRole])).toEqual([
      [CAL, "owner"],
      ["holidays", "reader"]
    ])
  })
})

describe("GoogleFake (a fake of Google's OAuth endpoints)", () => {
  const form = (fields: Record<string, string>) => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString()
  })

  it("runs the code flow with PKCE: a code once, the verifier checked, then refresh and revoke", async () => {
    const verifier = "v".repeat(50)
    const challenge = createHash("sha256").update(verifier).digest("base64url")
    const auth = new URL(fake.authUrl)
    for (const [k, v] of Object.entries({
      client_id: fake.clientId,
      redirect_uri: "http://127.0.0.1:9/cb",
      response_type: "code",
      scope: "https://www.googleapis.com/auth/calendar",
      state: "s1",
      code_challenge: challenge,
      code_challenge_method: "S256"
    }))
      auth.searchParams.set(k, v)
    const redirect = await fetch(auth, { redirect: "manual" })
    expect(redirect.status).toBe(302)
    const back = new URL(redirect.headers.get("location") ?? "")
    expect(back.searchParams.get("state")).toBe("s1")
    const code = back.searchParams.get("code") ?? ""
    const exchange = (v: string) =>
      fetch(
        fake.tokenUrl,
        form({
          grant_type: "authorization_code",
          code,
          redirect_uri: "http://127.0.0.1:9/cb",
          code_verifier: v,
          client_id: fake.clientId,
          client_secret: fake.clientSecret
        })
      )
    const good = await tokenAnswer(await exchange(verifier))
    expect(good).toMatchObject({ token_type: "Bearer", expires_in: 3600 })
    expect((await tokenAnswer(await exchange(verifier))).error).toBe("invalid_grant")
    const refresh = () =>
      fetch(
        fake.tokenUrl,
        form({
          grant_type: "refresh_token",
          refresh_token: good.refresh_token ?? "",
          client_id: fake.clientId,
          client_secret: fake.clientSecret
        })
      )
    fake.expireAccessTokens()
    expect((await call("GET", events, { token: good.access_token ?? "" })).status).toBe(401)
    const refreshed = await tokenAnswer(await refresh())
    expect(refreshed.refresh_token).toBeUndefined()
    expect((await call("GET", events, { token: refreshed.access_token ?? "" })).status).toBe(200)
    expect((await fetch(fake.revokeUrl, form({ token: good.refresh_token ?? "" }))).status).toBe(200)
    const refused = await refresh()
    expect([refused.status, (await tokenAnswer(refused)).error]).toEqual([400, "invalid_grant"])
    expect((await call("GET", events, { token: refreshed.access_token ?? "" })).status).toBe(401)
  })

  it("refuses a code exchanged with the wrong verifier or client secret", async () => {
    const auth = new URL(fake.authUrl)
    auth.search = new URLSearchParams({
      client_id: fake.clientId,
      redirect_uri: "http://127.0.0.1:9/cb",
      response_type: "code",
      scope: "x",
      code_challenge: "abc",
      code_challenge_method: "S256"
    }).toString()
    const code =
      new URL((await fetch(auth, { redirect: "manual" })).headers.get("location") ?? "").searchParams.get(
        "code"
      ) ?? ""
    const wrongSecret = await fetch(
      fake.tokenUrl,
      form({
        grant_type: "authorization_code",
        code,
        redirect_uri: "http://127.0.0.1:9/cb",
        code_verifier: "x",
        client_id: fake.clientId,
        client_secret: "nope"
      })
    )
    expect(wrongSecret.status).toBe(401)
    const wrongVerifier = await fetch(
      fake.tokenUrl,
      form({
        grant_type: "authorization_code",
        code,
        redirect_uri: "http://127.0.0.1:9/cb",
        code_verifier: "x",
        client_id: fake.clientId,
        client_secret: fake.clientSecret
      })
    )
    expect((await tokenAnswer(wrongVerifier)).error).toBe("invalid_grant")
    const plain = new URL(fake.authUrl)
    plain.search = new URLSearchParams({
      client_id: fake.clientId,
      redirect_uri: "http://127.0.0.1:9/cb",
      response_type: "code",
      scope: "x"
    }).toString()
    expect((await fetch(plain, { redirect: "manual" })).status).toBe(400)
  })
})

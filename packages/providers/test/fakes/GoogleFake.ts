/**
 * A FAKE of Google Calendar API v3 and Google's OAuth 2.0 endpoints, for tests. It is not Google:
 * it is a small stateful node:http server on loopback that follows the documented contract as
 * docs/providers.md records it (A.1–A.5, A.9, A.10, A.12, A.13), so that the client and the provider
 * can be tested where no real Google can run. Where the documentation is silent the fake says what
 * it chose, next to the code.
 *
 * What it models: calendarList (paged, accessRole); events.list with short pages (configurable),
 * `nextSyncToken` only on the last page, incremental lists with tombstones, 410 fullSyncRequired
 * (tests can expire every token), the 400 for parameters Google forbids beside `syncToken`;
 * etags and 412 on If-Match; client-supplied ids (base32hex rule → 400, taken → 409 duplicate);
 * 410 deleted on a second delete; recurring masters with exceptions and cancelled instances under
 * instance ids (an instance id must name an occurrence of the series); extendedProperties; rate-limit
 * and 5xx answers on demand; access tokens that expire (401) and refresh; `invalid_grant` for a
 * revoked refresh token; the revoke endpoint; a record of the invitations Google would have sent (any
 * write without sendUpdates=none on an event with attendees); a log of every request.
 *
 * Push: `events.watch` opens a channel (a `sync` message first, then `exists` after every change
 * of the calendar, with the channel's token echoed), `channels.stop` closes it. Google requires an
 * https address; the fake also takes http on loopback, where tests listen.
 *
 * What it does not model: `singleEvents=true` (400 here; Almanac never asks for it), `q` search,
 * ACLs, quotas beyond what a test asks for.
 */
import { createHash, randomBytes } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Recurrence } from "@almanac/core"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { GoogleCodec } from "../../src/index.js"
import * as Zones from "../../src/internal/google/Zones.js"

type Json = Record<string, unknown>

export interface FakeCalendar {
  readonly id: string
  readonly summary: string
  readonly timeZone: string
  readonly accessRole: "owner" | "writer" | "reader" | "freeBusyReader"
  readonly primary?: boolean
}

interface Stored {
  json: Json
  /** The change counter value of the last change: what incremental lists compare with. */
  seq: number
  /** Deleted (a tombstone): listed only incrementally or with showDeleted. */
  deleted: boolean
}

interface CalendarState {
  readonly calendar: FakeCalendar
  readonly events: Map<string, Stored>
}

export interface Invitation {
  readonly calendarId: string
  readonly eventId: string
  readonly method: string
  readonly attendees: ReadonlyArray<string>
  readonly sendUpdates: string | undefined
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly ifMatch: string | undefined
  readonly authorization: boolean
}

export interface Failure {
  readonly status: number
  readonly reason: string
  readonly retryAfter?: string
}

export interface Notification {
  readonly channelId: string
  readonly state: "sync" | "exists"
  /** The receiver's answer, or 0 when it could not be reached. */
  readonly status: number
}

interface Channel {
  readonly id: string
  readonly calendarId: string
  readonly address: string
  readonly token: string | undefined
  readonly resourceId: string
  readonly expiration: number
  messageNumber: number
}

export interface GoogleFakeOptions {
  /** Largest page events.list and calendarList answer with (default 3: short pages on purpose). */
  readonly pageSize?: number
  /** Lifetime of an access token (default one hour). */
  readonly accessTokenTtlSeconds?: number
  readonly clientId?: string
  readonly clientSecret?: string
  readonly calendars?: ReadonlyArray<FakeCalendar>
}

export interface GoogleFake {
  /** `http://127.0.0.1:<port>/calendar/v3`, the API base with its version path. */
  readonly apiUrl: string
  readonly authUrl: string
  readonly tokenUrl: string
  readonly revokeUrl: string
  readonly clientId: string
  readonly clientSecret: string
  readonly close: () => Promise<void>
  readonly addCalendar: (calendar: FakeCalendar) => void
  /** The calendar is gone for this account (deleted, or no longer shared with it): 404 from now on. */
  readonly removeCalendar: (calendarId: string) => void
  /** A grant as if a person had consented: a refresh token and a fresh access token. */
  readonly issueTokens: () => {
    readonly accessToken: string
    readonly refreshToken: string
    readonly expiresIn: number
  }
  /** The stored JSON of an event (tombstones included), as `get` would answer. */
  readonly event: (calendarId: string, eventId: string) => Json | undefined
  /** Every stored event of a calendar, tombstones included. */
  readonly events: (calendarId: string) => ReadonlyArray<Json>
  /** A person's edit on Google (through the web UI): merges the fields, new etag. */
  readonly edit: (calendarId: string, eventId: string, fields: Json) => void
  /** A person's own event, created on Google (an original, not a copy). */
  readonly insertAsPerson: (calendarId: string, event: Json) => Json
  /** Every sync token issued so far answers 410 fullSyncRequired from now on. */
  readonly expireSyncTokens: () => void
  /** Every access token issued so far answers 401 from now on (refresh tokens still work). */
  readonly expireAccessTokens: () => void
  /** Every refresh token issued so far answers `invalid_grant` (a person revoked the access). */
  readonly revokeRefreshTokens: () => void
  /** The next `count` API requests fail with this answer (rate limits, 5xx). */
  readonly failNext: (count: number, failure: Failure) => void
  readonly invitations: ReadonlyArray<Invitation>
  readonly requests: ReadonlyArray<LoggedRequest>
  /** Requests to the Calendar API (not OAuth), optionally only those matching. */
  readonly apiRequestCount: (filter?: (r: LoggedRequest) => boolean) => number
  readonly resetLog: () => void
  /** Authorization requests the fake answered, with their parameters. */
  readonly authorizations: ReadonlyArray<Readonly<Record<string, string>>>
  readonly revoked: ReadonlyArray<string>
  /** Push messages sent, in order, with the receiver's answer. */
  readonly notifications: ReadonlyArray<Notification>
  /** Open channels. */
  readonly channels: () => ReadonlyArray<{
    readonly id: string
    readonly resourceId: string
    readonly calendarId: string
  }>
  /** Resolves when every push message sent so far has been answered. */
  readonly pushesSettled: () => Promise<void>
}

const FORBIDDEN_WITH_SYNC_TOKEN = [
  "iCalUID",
  "orderBy",
  "privateExtendedProperty",
  "q",
  "sharedExtendedProperty",
  "timeMin",
  "timeMax",
  "updatedMin"
]

class HttpError {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly message: string,
    readonly extra: { readonly location?: string; readonly retryAfter?: string } = {}
  ) {}
}

const errorBody = (e: HttpError): Json => ({
  error: {
    code: e.status,
    message: e.message,
    errors: [
      {
        domain: e.status === 403 && e.reason.endsWith("RateLimitExceeded") ? "usageLimits" : "global",
        reason: e.reason,
        message: e.message,
        ...(e.extra.location !== undefined ? { location: e.extra.location } : {})
      }
    ]
  }
})

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const b64url = (buf: Buffer): string => buf.toString("base64url")

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const instantOfEdt = (edt: unknown, zone: string): number | undefined => {
  if (!isObject(edt)) return undefined
  if (typeof edt.date === "string") {
    const d = Zones.parseDate(edt.date)
    return d === undefined ? undefined : Zones.toWallMs({ ...d, hour: 0, minute: 0, second: 0 })
  }
  if (typeof edt.dateTime !== "string") return undefined
  const p = Zones.parseDateTime(edt.dateTime)
  if (p === undefined) return undefined
  if (p.offsetMinutes !== undefined) return Zones.toWallMs(p.wall) - p.offsetMinutes * 60_000
  const tz = typeof edt.timeZone === "string" ? edt.timeZone : zone
  return Zones.isUtc(tz) ? Zones.toWallMs(p.wall) : Zones.wallToUtc(tz, p.wall)
}

/** A dateTime as Google answers it: RFC 3339 with the calendar zone's offset. */
const render = (edt: unknown, zone: string): unknown => {
  if (!isObject(edt) || typeof edt.dateTime !== "string") return edt
  const instant = instantOfEdt(edt, zone)
  if (instant === undefined) throw new HttpError(400, "invalid", `Invalid dateTime "${edt.dateTime}".`)
  return { ...edt, dateTime: Zones.formatRfc3339(zone, instant) }
}

/**
 * The event as stored after a write: Google's own fields kept (from `previous`, the stored event or,
 * for an instance's first write, its series), the rest as the client sent it, every time in the
 * calendar zone's offset. Exported so that the codec's laws can be checked on what Google hands back.
 */
export const materialized = (
  calendar: FakeCalendar,
  id: string,
  body: Json,
  previous: Json | undefined
): Json => {
  const zone = calendar.timeZone
  const { etag: _etag, updated: _updated, organizer: _organizer, creator: _creator, ...rest } = body
  const json: Json = {
    kind: "calendar#event",
    ...rest,
    id,
    status: typeof body.status === "string" ? body.status : "confirmed",
    iCalUID: previous?.iCalUID ?? (typeof body.iCalUID === "string" ? body.iCalUID : `${id}@google.com`),
    created: previous?.created ?? new Date().toISOString(),
    organizer: previous?.organizer ?? { email: calendar.id, self: true },
    creator: previous?.creator ?? { email: calendar.id, self: true },
    sequence: typeof body.sequence === "number" ? body.sequence : 0
  }
  for (const k of ["start", "end", "originalStartTime"])
    if (json[k] !== undefined) json[k] = render(json[k], zone)
  return json
}

/** A series as Google holds it once its master and then each exception were written (one iCalUID). */
export const storedSeries = (calendar: FakeCalendar, members: ReadonlyArray<Json>): ReadonlyArray<Json> => {
  const [first, ...rest] = members
  if (first === undefined) return []
  const master = materialized(calendar, String(first.id), first, undefined)
  const series = {
    iCalUID: master.iCalUID,
    organizer: master.organizer,
    creator: master.creator,
    created: master.created
  }
  return [master, ...rest.map((x) => materialized(calendar, String(x.id), x, series))]
}

export const start = (options: GoogleFakeOptions = {}): Promise<GoogleFake> => {
  const pageSize = options.pageSize ?? 3
  const ttl = options.accessTokenTtlSeconds ?? 3600
  const clientId = options.clientId ?? "fake-client.apps.googleusercontent.com"
  const clientSecret = options.clientSecret ?? "fake-client-secret"
  const calendars = new Map<string, CalendarState>()
  const addCalendar = (calendar: FakeCalendar) => calendars.set(calendar.id, { calendar, events: new Map() })
  for (const c of options.calendars ?? [
    {
      id: "me@example.org",
      summary: "me@example.org",
      timeZone: "Europe/Berlin",
      accessRole: "owner",
      primary: true
    }
  ])
    addCalendar(c)

  let seq = 0
  let tokenGeneration = 0
  const accessTokens = new Map<string, { expiresAt: number; refreshToken: string }>()
  const refreshTokens = new Map<string, { revoked: boolean }>()
  const codes = new Map<string, { redirectUri: string; challenge: string; used: boolean }>()
  const invitations: Array<Invitation> = []
  const requests: Array<LoggedRequest> = []
  const authorizations: Array<Record<string, string>> = []
  const revoked: Array<string> = []
  const failures: Array<Failure> = []
  const channels = new Map<string, Channel>()
  const notifications: Array<Notification> = []
  const inFlight = new Set<Promise<void>>()

  const notify = (channel: Channel, state: "sync" | "exists") => {
    if (channel.expiration <= Date.now()) return
    const messageNumber = channel.messageNumber++
    const p = fetch(channel.address, {
      method: "POST",
      headers: {
        "x-goog-channel-id": channel.id,
        ...(channel.token !== undefined ? { "x-goog-channel-token": channel.token } : {}),
        "x-goog-channel-expiration": new Date(channel.expiration).toUTCString(),
        "x-goog-resource-id": channel.resourceId,
        "x-goog-resource-uri": `/calendar/v3/calendars/${encodeURIComponent(channel.calendarId)}/events`,
        "x-goog-resource-state": state,
        "x-goog-message-number": String(messageNumber)
      }
    }).then(
      (res) => {
        notifications.push({ channelId: channel.id, state, status: res.status })
      },
      () => {
        notifications.push({ channelId: channel.id, state, status: 0 })
      }
    )
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }

  const newAccessToken = (refreshToken: string) => {
    const token = `ya29.${b64url(randomBytes(18))}`
    accessTokens.set(token, { expiresAt: Date.now() + ttl * 1000, refreshToken })
    return token
  }
  const issueTokens = () => {
    const refreshToken = `1//${b64url(randomBytes(18))}`
    refreshTokens.set(refreshToken, { revoked: false })
    return { accessToken: newAccessToken(refreshToken), refreshToken, expiresIn: ttl }
  }

  const calendarOf = (id: string): CalendarState => {
    const c = calendars.get(id)
    if (c === undefined) throw new HttpError(404, "notFound", "Not Found")
    return c
  }

  const touch = (state: CalendarState, id: string, json: Json, deleted = false) => {
    seq += 1
    const etag = `"${3181161784712000 + seq}"`
    const updated = new Date().toISOString()
    const stored: Stored = { json: { ...json, etag, updated }, seq, deleted }
    state.events.set(id, stored)
    for (const c of channels.values()) if (c.calendarId === state.calendar.id) notify(c, "exists")
    return stored
  }

  const validateEvent = (state: CalendarState, body: Json) => {
    const zone = state.calendar.timeZone
    const s = instantOfEdt(body.start, zone)
    const e = instantOfEdt(body.end, zone)
    if (s === undefined) throw new HttpError(400, "required", "Missing start time.")
    if (e === undefined) throw new HttpError(400, "required", "Missing end time.")
    const allDay = isObject(body.start) && typeof body.start.date === "string"
    if (e < s || (allDay && e === s))
      throw new HttpError(400, "timeRangeEmpty", "The specified time range is empty.")
    const recurrence = body.recurrence
    if (recurrence !== undefined) {
      if (!Array.isArray(recurrence) || recurrence.some((l) => typeof l !== "string"))
        throw new HttpError(400, "invalid", "Invalid recurrence rule.")
      // GDISC Event.recurrence: "RRULE, EXRULE, RDATE and EXDATE lines", DTSTART/DTEND not allowed.
      if (recurrence.some((l: string) => !/^(RRULE|EXRULE|RDATE|EXDATE)[;:]/i.test(l)))
        throw new HttpError(400, "invalid", "Invalid recurrence rule.")
      if (!allDay && !(isObject(body.start) && typeof body.start.timeZone === "string"))
        throw new HttpError(400, "required", "Missing time zone definition for start time.")
    }
  }

  const recordInvitations = (
    calendarId: string,
    eventId: string,
    method: string,
    body: Json,
    query: URLSearchParams
  ) => {
    const attendees = Array.isArray(body.attendees) ? body.attendees : []
    const sendUpdates = query.get("sendUpdates") ?? undefined
    if (attendees.length > 0 && sendUpdates !== "none") {
      invitations.push({
        calendarId,
        eventId,
        method,
        attendees: attendees.flatMap((a) => (isObject(a) && typeof a.email === "string" ? [a.email] : [])),
        sendUpdates
      })
    }
  }

  const materialize = (state: CalendarState, id: string, body: Json, previous: Json | undefined): Json =>
    materialized(state.calendar, id, body, previous)

  /** The master an instance id belongs to, when it names an occurrence of a stored recurring master. */
  const occurrenceOf = (
    state: CalendarState,
    id: string
  ): { master: Stored; originalStartTime: Json } | undefined => {
    const cut = id.lastIndexOf("_")
    if (cut < 0) return undefined
    const master = state.events.get(id.slice(0, cut))
    if (master === undefined || master.deleted || !Array.isArray(master.json.recurrence)) return undefined
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(id.slice(cut + 1))
    if (m === null) return undefined
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
    const allDay = m[4] === undefined
    const at = Date.UTC(y, mo - 1, d, Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0))
    // The series' own occurrences: decoded and expanded, exceptions and EXDATEs aside.
    const decoded = GoogleCodec.decode(String(master.json.id), [master.json], {
      calendarZone: state.calendar.timeZone
    })
    if (Either.isLeft(decoded)) return undefined
    const bare = {
      ...decoded.right,
      master: Option.map(decoded.right.master, (e) => ({ ...e, exdates: [] })),
      overrides: []
    }
    const window = allDay
      ? { start: new Date(at - 86_400_000), end: new Date(at + 2 * 86_400_000) }
      : { start: new Date(at), end: new Date(at + 1) }
    const found = Recurrence.instances(bare, window, { floatingZone: state.calendar.timeZone }).some((i) =>
      Option.match(i.recurrenceId, {
        onNone: () => false,
        onSome: (rid) =>
          rid._tag === "Date" ? rid.year === y && rid.month === mo && rid.day === d : i.start.getTime() === at
      })
    )
    if (!found) return undefined
    const masterStart = master.json.start
    const timeZone =
      isObject(masterStart) && typeof masterStart.timeZone === "string" ? masterStart.timeZone : undefined
    const originalStartTime: Json = allDay
      ? { date: Zones.formatDate({ year: y, month: mo, day: d }) }
      : {
          dateTime: Zones.formatRfc3339(timeZone ?? state.calendar.timeZone, at),
          ...(timeZone !== undefined ? { timeZone } : {})
        }
    return { master, originalStartTime }
  }

  const checkIfMatch = (stored: Stored, req: Http.IncomingMessage) => {
    const ifMatch = req.headers["if-match"]
    if (ifMatch !== undefined && ifMatch !== "*" && ifMatch !== stored.json.etag)
      throw new HttpError(412, "conditionNotMet", "Precondition Failed", { location: "If-Match" })
  }

  /** What a list shows of a deleted event or a cancelled instance: Google guarantees only the ids. */
  const tombstone = (s: Stored): Json =>
    typeof s.json.recurringEventId === "string"
      ? {
          kind: "calendar#event",
          etag: s.json.etag,
          id: s.json.id,
          status: "cancelled",
          recurringEventId: s.json.recurringEventId,
          originalStartTime: s.json.originalStartTime
        }
      : { kind: "calendar#event", etag: s.json.etag, id: s.json.id, status: "cancelled" }

  const isCancelledInstance = (s: Stored) =>
    !s.deleted && s.json.status === "cancelled" && typeof s.json.recurringEventId === "string"

  interface PageState {
    readonly offset: number
    readonly since: number
    readonly upTo: number
    readonly generation: number
    readonly key: string
  }
  const encodePage = (p: PageState) => Buffer.from(JSON.stringify(p)).toString("base64url")
  const decodePage = (t: string): PageState | undefined => {
    try {
      const v: unknown = JSON.parse(Buffer.from(t, "base64url").toString("utf8"))
      return isObject(v) && typeof v.offset === "number" ? (v as unknown as PageState) : undefined
    } catch {
      return undefined
    }
  }
  const syncTokenFor = (upTo: number, key: string) =>
    `CP${b64url(Buffer.from(JSON.stringify({ upTo, generation: tokenGeneration, key })))}`
  const readSyncToken = (t: string): { upTo: number; generation: number; key: string } | undefined => {
    if (!t.startsWith("CP")) return undefined
    try {
      const v: unknown = JSON.parse(Buffer.from(t.slice(2), "base64url").toString("utf8"))
      return isObject(v) &&
        typeof v.upTo === "number" &&
        typeof v.generation === "number" &&
        typeof v.key === "string"
        ? { upTo: v.upTo, generation: v.generation, key: v.key }
        : undefined
    } catch {
      return undefined
    }
  }

  const listEvents = (state: CalendarState, query: URLSearchParams): Json => {
    const syncToken = query.get("syncToken")
    if (syncToken !== null) {
      const forbidden = FORBIDDEN_WITH_SYNC_TOKEN.filter((p) => query.has(p))
      if (forbidden.length > 0 || query.get("showDeleted") === "false")
        throw new HttpError(
          400,
          "syncTokenWithRequestRestrictions",
          `Sync token cannot be used with other request restrictions (${[...forbidden, ...(query.get("showDeleted") === "false" ? ["showDeleted=false"] : [])].join(", ")}).`
        )
    }
    if (query.get("singleEvents") === "true")
      throw new HttpError(400, "invalid", "This fake does not expand recurring events.")
    const max = Math.min(Number(query.get("maxResults") ?? pageSize) || pageSize, pageSize, 2500)
    // The parameters that must stay the same across a sync stream, sync token and page token aside.
    const keyParams = new URLSearchParams(query)
    for (const p of ["syncToken", "pageToken", "maxResults", ...FORBIDDEN_WITH_SYNC_TOKEN])
      keyParams.delete(p)
    keyParams.sort()
    const key = createHash("sha256").update(keyParams.toString()).digest("hex").slice(0, 16)

    let page: PageState
    const pageToken = query.get("pageToken")
    if (pageToken !== null) {
      const p = decodePage(pageToken)
      if (p === undefined) throw new HttpError(400, "invalid", "Invalid page token.")
      page = p
    } else if (syncToken !== null) {
      const t = readSyncToken(syncToken)
      if (t === undefined || t.generation !== tokenGeneration || t.key !== key)
        throw new HttpError(
          410,
          "fullSyncRequired",
          "Sync token is no longer valid, a full sync is required.",
          {
            location: "syncToken"
          }
        )
      page = { offset: 0, since: t.upTo, upTo: seq, generation: tokenGeneration, key }
    } else {
      page = { offset: 0, since: -1, upTo: seq, generation: tokenGeneration, key }
    }
    const incremental = page.since >= 0
    const showDeleted = query.get("showDeleted") === "true"
    const iCalUID = query.get("iCalUID")
    const all = [...state.events.values()]
      .filter((s) => s.seq <= page.upTo || !incremental)
      .filter((s) => (incremental ? s.seq > page.since : true))
      // A full list leaves out deleted events unless showDeleted; cancelled instances of a live
      // series are listed anyway when singleEvents is false (GDISC showDeleted).
      .filter((s) => incremental || showDeleted || !s.deleted)
      .filter((s) => iCalUID === null || s.json.iCalUID === iCalUID)
      .sort((a, b) => String(a.json.id).localeCompare(String(b.json.id)))
    const slice = all.slice(page.offset, page.offset + max)
    const more = page.offset + max < all.length
    return {
      kind: "calendar#events",
      summary: state.calendar.summary,
      timeZone: state.calendar.timeZone,
      accessRole: state.calendar.accessRole,
      items: slice.map((s) => (s.deleted || isCancelledInstance(s) ? tombstone(s) : s.json)),
      ...(more
        ? { nextPageToken: encodePage({ ...page, offset: page.offset + max }) }
        : iCalUID === null
          ? { nextSyncToken: syncTokenFor(page.upTo, key) }
          : {})
    }
  }

  const insertEvent = (state: CalendarState, body: Json, query: URLSearchParams): Json => {
    let id: string
    if (body.id !== undefined) {
      if (typeof body.id !== "string" || !GoogleCodec.isValidEventId(body.id))
        throw new HttpError(400, "invalid", "Invalid resource id value.")
      if (state.events.has(body.id))
        throw new HttpError(409, "duplicate", "The requested identifier already exists.")
      id = body.id
    } else {
      do id = createHash("sha256").update(randomBytes(16)).digest("hex").slice(0, 26)
      while (state.events.has(id))
    }
    validateEvent(state, body)
    recordInvitations(state.calendar.id, id, "insert", body, query)
    return touch(state, id, materialize(state, id, body, undefined)).json
  }

  const updateEvent = (
    state: CalendarState,
    id: string,
    body: Json,
    query: URLSearchParams,
    req: Http.IncomingMessage,
    patch: boolean
  ): Json => {
    const existing = state.events.get(id)
    let previous: Json | undefined
    let base: Json = {}
    if (existing !== undefined) {
      checkIfMatch(existing, req)
      previous = existing.json
      if (patch) base = existing.json
    } else {
      const occurrence = occurrenceOf(state, id)
      if (occurrence === undefined) throw new HttpError(404, "notFound", "Not Found")
      if (req.headers["if-match"] !== undefined && req.headers["if-match"] !== "*")
        throw new HttpError(412, "conditionNotMet", "Precondition Failed", { location: "If-Match" })
      const m = occurrence.master.json
      base = patch ? { ...m, recurrence: undefined } : {}
      previous = { iCalUID: m.iCalUID, organizer: m.organizer, creator: m.creator, created: m.created }
      body = { ...body, recurringEventId: m.id, originalStartTime: occurrence.originalStartTime }
    }
    const merged: Json = { ...base, ...body }
    if (previous?.recurringEventId !== undefined) {
      merged.recurringEventId = previous.recurringEventId
      merged.originalStartTime = previous.originalStartTime
    }
    if (merged.recurrence === undefined) delete merged.recurrence
    if (merged.status !== "cancelled") validateEvent(state, merged)
    recordInvitations(state.calendar.id, id, patch ? "patch" : "update", merged, query)
    const written = touch(state, id, materialize(state, id, merged, previous)).json
    // A master that no longer recurs has no instances: its exceptions and cancelled instances go.
    if (Array.isArray(previous?.recurrence) && merged.recurrence === undefined)
      for (const [otherId, s] of state.events)
        if (s.json.recurringEventId === id && !s.deleted)
          touch(state, otherId, { ...s.json, status: "cancelled" }, true)
    return written
  }

  const deleteEvent = (
    state: CalendarState,
    id: string,
    query: URLSearchParams,
    req: Http.IncomingMessage
  ) => {
    const existing = state.events.get(id)
    if (existing === undefined) {
      const occurrence = occurrenceOf(state, id)
      if (occurrence === undefined) throw new HttpError(404, "notFound", "Not Found")
      // Deleting an instance cancels it: a cancelled instance, kept while its series lives.
      const m = occurrence.master.json
      touch(state, id, {
        kind: "calendar#event",
        id,
        status: "cancelled",
        recurringEventId: m.id,
        originalStartTime: occurrence.originalStartTime,
        iCalUID: m.iCalUID
      })
      return
    }
    if (
      existing.deleted ||
      (existing.json.status === "cancelled" && typeof existing.json.recurringEventId !== "string")
    )
      throw new HttpError(410, "deleted", "Resource has been deleted")
    checkIfMatch(existing, req)
    if (existing.json.status === "cancelled") throw new HttpError(410, "deleted", "Resource has been deleted")
    recordInvitations(state.calendar.id, id, "delete", existing.json, query)
    if (typeof existing.json.recurringEventId === "string") {
      touch(state, id, { ...existing.json, status: "cancelled" })
      return
    }
    touch(state, id, { ...existing.json, status: "cancelled" }, true)
    // The series goes with its master: every exception and cancelled instance is deleted too.
    for (const [otherId, s] of state.events)
      if (s.json.recurringEventId === id && !s.deleted)
        touch(state, otherId, { ...s.json, status: "cancelled" }, true)
  }

  const freeBusy = (body: Json): Json => {
    const timeMin = typeof body.timeMin === "string" ? Date.parse(body.timeMin) : Number.NaN
    const timeMax = typeof body.timeMax === "string" ? Date.parse(body.timeMax) : Number.NaN
    if (Number.isNaN(timeMin) || Number.isNaN(timeMax)) throw new HttpError(400, "badRequest", "Bad Request")
    if (timeMax < timeMin) throw new HttpError(400, "timeRangeEmpty", "The specified time range is empty.")
    const items = Array.isArray(body.items) ? body.items : []
    const out: Json = {}
    for (const item of items) {
      const id = isObject(item) && typeof item.id === "string" ? item.id : ""
      const state = calendars.get(id)
      if (state === undefined) {
        out[id] = { busy: [], errors: [{ domain: "global", reason: "notFound" }] }
        continue
      }
      const busy: Array<{ start: number; end: number }> = []
      const series = new Map<string, Array<Json>>()
      for (const s of state.events.values()) {
        if (s.deleted) continue
        const sid = typeof s.json.recurringEventId === "string" ? s.json.recurringEventId : String(s.json.id)
        series.set(sid, [...(series.get(sid) ?? []), s.json])
      }
      for (const [sid, members] of series) {
        const r = GoogleCodec.decode(sid, members, { calendarZone: state.calendar.timeZone })
        if (Either.isLeft(r)) continue
        for (const i of Recurrence.instances(
          r.right,
          { start: new Date(timeMin), end: new Date(timeMax) },
          {
            floatingZone: state.calendar.timeZone
          }
        )) {
          if (Option.contains(i.event.transp, "TRANSPARENT") || Option.contains(i.event.status, "CANCELLED"))
            continue
          busy.push({ start: Math.max(i.start.getTime(), timeMin), end: Math.min(i.end.getTime(), timeMax) })
        }
      }
      busy.sort((a, b) => a.start - b.start)
      const merged: Array<{ start: number; end: number }> = []
      for (const b of busy) {
        const last = merged[merged.length - 1]
        if (last !== undefined && b.start <= last.end) last.end = Math.max(last.end, b.end)
        else merged.push({ ...b })
      }
      out[id] = {
        busy: merged.map((b) => ({
          start: new Date(b.start).toISOString(),
          end: new Date(b.end).toISOString()
        }))
      }
    }
    return { kind: "calendar#freeBusy", timeMin: body.timeMin, timeMax: body.timeMax, calendars: out }
  }

  const authenticate = (req: Http.IncomingMessage) => {
    const header = req.headers.authorization
    const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined
    const entry = token === undefined ? undefined : accessTokens.get(token)
    if (
      entry === undefined ||
      entry.expiresAt <= Date.now() ||
      refreshTokens.get(entry.refreshToken)?.revoked !== false
    )
      throw new HttpError(401, "authError", "Invalid Credentials", { location: "Authorization" })
  }

  const api = async (
    req: Http.IncomingMessage,
    url: URL,
    body: string
  ): Promise<{ status: number; json?: Json }> => {
    authenticate(req)
    const failure = failures.shift()
    if (failure !== undefined) {
      const message =
        failure.status === 429 || failure.status === 403 ? "Rate Limit Exceeded" : "Backend Error"
      throw new HttpError(
        failure.status,
        failure.reason,
        message,
        failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}
      )
    }
    const path = url.pathname.slice("/calendar/v3".length)
    const q = url.searchParams
    const parsed = (): Json => {
      try {
        const v: unknown = JSON.parse(body)
        if (isObject(v)) return v
      } catch {}
      throw new HttpError(400, "parseError", "Parse Error")
    }
    const method = req.method ?? "GET"
    if (method === "GET" && path === "/users/me/calendarList") {
      const all = [...calendars.values()].map((c) => ({
        kind: "calendar#calendarListEntry",
        id: c.calendar.id,
        summary: c.calendar.summary,
        timeZone: c.calendar.timeZone,
        accessRole: c.calendar.accessRole,
        ...(c.calendar.primary === true ? { primary: true } : {})
      }))
      const offset = Number(q.get("pageToken") ?? "0")
      const slice = all.slice(offset, offset + pageSize)
      return {
        status: 200,
        json: {
          kind: "calendar#calendarList",
          items: slice,
          ...(offset + pageSize < all.length
            ? { nextPageToken: String(offset + pageSize) }
            : { nextSyncToken: "cl-sync" })
        }
      }
    }
    if (method === "POST" && path === "/freeBusy") return { status: 200, json: freeBusy(parsed()) }
    if (method === "POST" && path === "/channels/stop") {
      const b = parsed()
      const c = typeof b.id === "string" ? channels.get(b.id) : undefined
      if (c === undefined || c.resourceId !== b.resourceId)
        throw new HttpError(404, "notFound", "Channel not found")
      channels.delete(c.id)
      return { status: 204 }
    }
    const watch = /^\/calendars\/([^/]+)\/events\/watch$/.exec(path)
    if (method === "POST" && watch !== null && watch[1] !== undefined) {
      const state = calendarOf(decodeURIComponent(watch[1]))
      const b = parsed()
      if (typeof b.id !== "string" || !/^[A-Za-z0-9\-_+/=]{1,64}$/.test(b.id))
        throw new HttpError(400, "invalid", "Invalid channel id.")
      if (channels.has(b.id)) throw new HttpError(400, "channelIdNotUnique", "Channel id not unique.")
      if (b.type !== "web_hook") throw new HttpError(400, "invalid", "Unsupported channel type.")
      const address = typeof b.address === "string" ? b.address : ""
      let target: URL
      try {
        target = new URL(address)
      } catch {
        throw new HttpError(400, "invalid", "Invalid address.")
      }
      const loopback = target.protocol === "http:" && target.hostname === "127.0.0.1"
      if (target.protocol !== "https:" && !loopback)
        throw new HttpError(400, "push.webhookUrlNotHttps", "WebHook callback must be HTTPS.")
      const params = isObject(b.params) ? b.params : {}
      const ttl = Number(typeof params.ttl === "string" ? params.ttl : "604800")
      const channel: Channel = {
        id: b.id,
        calendarId: state.calendar.id,
        address,
        token: typeof b.token === "string" ? b.token : undefined,
        resourceId: b64url(randomBytes(12)),
        expiration: Date.now() + (Number.isFinite(ttl) ? ttl : 604800) * 1000,
        messageNumber: 1
      }
      channels.set(channel.id, channel)
      notify(channel, "sync")
      return {
        status: 200,
        json: {
          kind: "api#channel",
          id: channel.id,
          resourceId: channel.resourceId,
          resourceUri: `${url.origin}/calendar/v3/calendars/${encodeURIComponent(channel.calendarId)}/events`,
          ...(channel.token !== undefined ? { token: channel.token } : {}),
          expiration: String(channel.expiration)
        }
      }
    }
    const m = /^\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(path)
    if (m === null || m[1] === undefined) throw new HttpError(404, "notFound", "Not Found")
    const state = calendarOf(decodeURIComponent(m[1]))
    const eventId = m[2] === undefined ? undefined : decodeURIComponent(m[2])
    const writable = state.calendar.accessRole === "owner" || state.calendar.accessRole === "writer"
    if (method !== "GET" && !writable)
      throw new HttpError(403, "requiredAccessLevel", "You need to have writer access to this calendar.")
    if (eventId === undefined) {
      if (method === "GET") return { status: 200, json: listEvents(state, q) }
      if (method === "POST") return { status: 200, json: insertEvent(state, parsed(), q) }
      throw new HttpError(405, "methodNotAllowed", "Method Not Allowed")
    }
    switch (method) {
      case "GET": {
        const s = state.events.get(eventId)
        if (s === undefined) throw new HttpError(404, "notFound", "Not Found")
        return { status: 200, json: s.deleted ? { ...s.json, status: "cancelled" } : s.json }
      }
      case "PUT":
        return { status: 200, json: updateEvent(state, eventId, parsed(), q, req, false) }
      case "PATCH":
        return { status: 200, json: updateEvent(state, eventId, parsed(), q, req, true) }
      case "DELETE":
        deleteEvent(state, eventId, q, req)
        return { status: 204 }
      default:
        throw new HttpError(405, "methodNotAllowed", "Method Not Allowed")
    }
  }

  const oauthError = (status: number, error: string, description: string) => ({
    status,
    json: { error, error_description: description }
  })

  const token = (req: Http.IncomingMessage, body: string): { status: number; json: Json } => {
    const form = new URLSearchParams(body)
    let id = form.get("client_id")
    let secret = form.get("client_secret")
    const basic = req.headers.authorization
    if (basic?.startsWith("Basic ")) {
      const [u, p] = Buffer.from(basic.slice(6), "base64").toString("utf8").split(":")
      id = decodeURIComponent(u ?? "")
      secret = decodeURIComponent(p ?? "")
    }
    if (id !== clientId || secret !== clientSecret)
      return oauthError(401, "invalid_client", "The OAuth client was not found.")
    switch (form.get("grant_type")) {
      case "authorization_code": {
        const code = codes.get(form.get("code") ?? "")
        if (code === undefined || code.used) return oauthError(400, "invalid_grant", "Malformed auth code.")
        code.used = true
        if (code.redirectUri !== form.get("redirect_uri"))
          return oauthError(400, "redirect_uri_mismatch", "Bad Request")
        const verifier = form.get("code_verifier") ?? ""
        if (b64url(createHash("sha256").update(verifier).digest()) !== code.challenge)
          return oauthError(400, "invalid_grant", "Invalid code verifier.")
        const t = issueTokens()
        return {
          status: 200,
          json: {
            access_token: t.accessToken,
            expires_in: t.expiresIn,
            refresh_token: t.refreshToken,
            scope: "https://www.googleapis.com/auth/calendar",
            token_type: "Bearer"
          }
        }
      }
      case "refresh_token": {
        const refreshToken = form.get("refresh_token") ?? ""
        const r = refreshTokens.get(refreshToken)
        if (r === undefined || r.revoked)
          return oauthError(400, "invalid_grant", "Token has been expired or revoked.")
        // Google does not rotate refresh tokens on refresh: the answer has no refresh_token.
        return {
          status: 200,
          json: {
            access_token: newAccessToken(refreshToken),
            expires_in: ttl,
            scope: "https://www.googleapis.com/auth/calendar",
            token_type: "Bearer"
          }
        }
      }
      default:
        return oauthError(400, "unsupported_grant_type", "Invalid grant_type.")
    }
  }

  const revoke = (body: string): { status: number; json: Json } => {
    const t = new URLSearchParams(body).get("token") ?? ""
    const r = refreshTokens.get(t)
    const a = accessTokens.get(t)
    if (r !== undefined) r.revoked = true
    else if (a !== undefined) {
      const parent = refreshTokens.get(a.refreshToken)
      if (parent !== undefined) parent.revoked = true
    } else return oauthError(400, "invalid_token", "Token expired or revoked")
    revoked.push(t)
    return { status: 200, json: {} }
  }

  const authorize = (url: URL, res: Http.ServerResponse) => {
    const p = Object.fromEntries(url.searchParams)
    authorizations.push(p)
    const problems = [
      p.client_id !== clientId ? "client_id" : undefined,
      p.response_type !== "code" ? "response_type" : undefined,
      p.code_challenge_method !== "S256" || (p.code_challenge ?? "") === "" ? "code_challenge" : undefined,
      p.redirect_uri === undefined ? "redirect_uri" : undefined,
      (p.scope ?? "") === "" ? "scope" : undefined
    ].filter((x) => x !== undefined)
    if (problems.length > 0 || p.redirect_uri === undefined) {
      res.writeHead(400, { "content-type": "text/plain" })
      res.end(`Error 400: invalid_request (${problems.join(", ")})`)
      return
    }
    // The fake consents at once, as a person clicking Allow would.
    const code = `4/${b64url(randomBytes(18))}`
    codes.set(code, { redirectUri: p.redirect_uri, challenge: p.code_challenge ?? "", used: false })
    const back = new URL(p.redirect_uri)
    back.searchParams.set("code", code)
    if (p.state !== undefined) back.searchParams.set("state", p.state)
    back.searchParams.set("scope", p.scope ?? "")
    res.writeHead(302, { location: back.href })
    res.end()
  }

  const server = Http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const body = await readBody(req)
      const isApi = url.pathname.startsWith("/calendar/v3/")
      requests.push({
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ifMatch: typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : undefined,
        authorization: req.headers.authorization !== undefined
      })
      const send = (status: number, json: Json | undefined, headers: Record<string, string> = {}) => {
        const text = json === undefined ? "" : JSON.stringify(json)
        res.writeHead(status, {
          ...(json === undefined ? {} : { "content-type": "application/json; charset=UTF-8" }),
          ...headers
        })
        res.end(text)
      }
      try {
        if (isApi) {
          const r = await api(req, url, body)
          send(r.status, r.json)
        } else if (req.method === "GET" && url.pathname === "/o/oauth2/v2/auth") authorize(url, res)
        else if (req.method === "POST" && url.pathname === "/token") {
          const r = token(req, body)
          send(r.status, r.json, { "cache-control": "no-store" })
        } else if (req.method === "POST" && url.pathname === "/revoke") {
          const r = revoke(body)
          send(r.status, r.json)
        } else send(404, { error: "not_found" })
      } catch (e) {
        if (e instanceof HttpError) {
          send(
            e.status,
            errorBody(e),
            e.extra.retryAfter !== undefined ? { "retry-after": e.extra.retryAfter } : {}
          )
          return
        }
        send(500, errorBody(new HttpError(500, "backendError", String(e))))
      }
    })()
  })

  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const origin = `http://127.0.0.1:${port}`
      resolve({
        apiUrl: `${origin}/calendar/v3`,
        authUrl: `${origin}/o/oauth2/v2/auth`,
        tokenUrl: `${origin}/token`,
        revokeUrl: `${origin}/revoke`,
        clientId,
        clientSecret,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
        addCalendar,
        removeCalendar: (calendarId) => {
          calendars.delete(calendarId)
        },
        issueTokens,
        event: (calendarId, eventId) => calendars.get(calendarId)?.events.get(eventId)?.json,
        events: (calendarId) => [...(calendars.get(calendarId)?.events.values() ?? [])].map((s) => s.json),
        edit: (calendarId, eventId, fields) => {
          const state = calendarOf(calendarId)
          const s = state.events.get(eventId)
          if (s === undefined) throw new Error(`no event ${eventId}`)
          touch(state, eventId, materialize(state, eventId, { ...s.json, ...fields }, s.json))
        },
        insertAsPerson: (calendarId, event) => {
          const state = calendarOf(calendarId)
          const id =
            typeof event.id === "string"
              ? event.id
              : b64url(randomBytes(12))
                  .toLowerCase()
                  .replace(/[^a-v0-9]/g, "a")
          // A person's change to one instance of their series: the instance keeps the series'
          // identity (one iCalUID for every instance, GDISC Event.iCalUID), as `update` gives it.
          const occurrence = state.events.has(id) ? undefined : occurrenceOf(state, id)
          const m = occurrence?.master.json
          const body: Json =
            occurrence === undefined || m === undefined
              ? { ...event, id }
              : {
                  ...event,
                  id,
                  recurringEventId: m.id,
                  originalStartTime: occurrence.originalStartTime
                }
          const previous =
            m === undefined
              ? undefined
              : { iCalUID: m.iCalUID, organizer: m.organizer, creator: m.creator, created: m.created }
          // What a person's client sends is checked as any client's: Google stores nothing it refuses.
          if (body.status !== "cancelled") validateEvent(state, body)
          return touch(state, id, materialize(state, id, body, previous)).json
        },
        expireSyncTokens: () => {
          tokenGeneration += 1
        },
        expireAccessTokens: () => {
          for (const t of accessTokens.values()) t.expiresAt = 0
        },
        revokeRefreshTokens: () => {
          for (const r of refreshTokens.values()) r.revoked = true
        },
        failNext: (count, failure) => {
          for (let i = 0; i < count; i++) failures.push(failure)
        },
        invitations,
        requests,
        apiRequestCount: (filter) =>
          requests.filter((r) => r.path.startsWith("/calendar/v3/") && (filter === undefined || filter(r)))
            .length,
        resetLog: () => {
          requests.length = 0
        },
        authorizations,
        revoked,
        notifications,
        channels: () =>
          [...channels.values()].map((c) => ({
            id: c.id,
            resourceId: c.resourceId,
            calendarId: c.calendarId
          })),
        pushesSettled: async () => {
          while (inFlight.size > 0) await Promise.all([...inFlight])
        }
      })
    })
  })
}

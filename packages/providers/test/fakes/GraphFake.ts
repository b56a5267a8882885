/**
 * A FAKE of Microsoft Graph v1.0's calendar API and of the Microsoft identity platform's OAuth 2.0
 * v2.0 endpoints, for tests. It is not Microsoft: it is a small stateful node:http server on
 * loopback that follows the documented contract (docs/providers.md B.1–B.10 and the Graph docs it
 * cites: event, event-delta, delta-query-events, delta-query-overview, errors, throttling-limits,
 * outlook-immutable-id, extended-properties-overview, calendar-getschedule; identity platform
 * authorization code flow and refresh tokens), so that the client and the provider can be tested
 * where no real Graph can run. Where the documentation is silent the fake says what it chose,
 * next to the code.
 *
 * What it models: `/me`; `/me/calendars` (paged, canEdit); events under `/me/calendars/{id}/events`
 * and `/me/events` (create, get, patch, delete, list with `$top`/`$skip`); `calendarView/delta` over
 * a required window with short pages (`Prefer: odata.maxpagesize` or `$top`), `@odata.nextLink` then
 * `@odata.deltaLink`, server-side sync state (a round is the difference from the last round's view),
 * `@removed` for deleted events and for events that left the window or changed outside it,
 * occurrence stubs (id, type, seriesMasterId, start, end, etag), full exceptions, replays and
 * repeated entries on demand, 410 with a `Location` reset link and `syncStateNotFound` /
 * `resyncRequired` on demand, a bounded sync-state cache; `@odata.etag` and 412 on a stale
 * If-Match; `transactionId` (a second POST with a live event's transactionId returns that event);
 * single-value extended properties (only through `$expand=singleValueExtendedProperties($filter=id
 * eq '…')`, filterable with `singleValueExtendedProperties/any(…)`); `Prefer: outlook.timezone`
 * (Windows and IANA names), `Prefer: IdType="ImmutableId"` (REST ids change when an event moves,
 * immutable ids do not), `Prefer: outlook.body-content-type`; recurring series (patternedRecurrence
 * expanded by ./GraphRecurrence.ts) with `/instances`, exceptions (a PATCH of an occurrence) and
 * cancelled occurrences (a DELETE of one); getSchedule; 429 and 503 on demand, 4 requests in flight
 * per mailbox (the 5th answers 429 ApplicationThrottled MailboxConcurrency); OAuth authorize,
 * authorization_code with PKCE (S256 checked), refresh_token with rotation, `invalid_grant` for
 * revoked grants, expiring access tokens (401 InvalidAuthenticationToken); a record of the
 * invitations Graph would have sent (any create, update or delete of an event with attendees:
 * Graph always sends them, B.2); a log of every request.
 *
 * What it does not model: other users' mailboxes and shared calendars' permissions beyond canEdit,
 * `$select`, `$orderby`, other `$filter` forms (400 here), calendarView without delta, attachments,
 * open extensions, id tokens (no `openid` id_token is issued: the fake signs no JWT), notifications
 * with resource data, and subscriptions to anything but the mailbox's events.
 *
 * Subscriptions (change-notifications-delivery-webhooks, subscription-post-subscriptions): POST
 * `/subscriptions` for `me/events` validates the notification URL and the lifecycle URL first (a POST
 * with `?validationToken=`, answered 200 text/plain with the token within 10 s, or the create fails
 * with 400), refuses an expiration past 4,230 minutes (the shorter documented limit) and a URL that is
 * not https (http on loopback is taken: tests listen there); PATCH renews, DELETE ends one, an
 * expired one is gone (404). After every change of an event in the mailbox each live subscription
 * gets `{value: [{subscriptionId, clientState, changeType, resource, …}]}`; lifecycle
 * notifications (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) are sent on demand.
 */
import { createHash, randomBytes } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zone from "@almanac/core/internal/Zone"
import * as Rec from "./GraphRecurrence.js"

type Json = Record<string, unknown>

export interface FakeCalendar {
  readonly id: string
  readonly name: string
  readonly canEdit: boolean
  readonly isDefaultCalendar?: boolean
  readonly owner?: { readonly name: string; readonly address: string }
}

export interface FakeMailbox {
  readonly id: string
  readonly displayName: string
  /** Null as for a personal account without an Outlook address. */
  readonly mail: string | null
  readonly userPrincipalName: string
}

export interface Invitation {
  readonly calendarId: string
  readonly eventId: string
  readonly method: "create" | "update" | "cancel"
  readonly attendees: ReadonlyArray<string>
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly ifMatch: string | undefined
  /** Every Prefer preference the request carried, one string each (`IdType="ImmutableId"`). */
  readonly prefer: ReadonlyArray<string>
  readonly authorization: boolean
  readonly status: number
}

export interface Failure {
  readonly status: number
  readonly code: string
  readonly retryAfter?: string
}

/** How an expired sync state answers (delta-query-overview: "Synchronization reset", "Token duration"). */
export type DeltaExpiry = "reset" | "syncStateNotFound" | "resyncRequired"

export interface GraphFakeOptions {
  /** Largest page of delta, event lists and calendar lists (default 3: short pages on purpose). */
  readonly pageSize?: number
  /** Lifetime of an access token in seconds (default 3599, as the identity platform answers). */
  readonly accessTokenTtlSeconds?: number
  readonly clientId?: string
  /** A confidential client's secret; undefined makes the client public (PKCE alone). */
  readonly clientSecret?: string | undefined
  readonly mailbox?: FakeMailbox
  readonly calendars?: ReadonlyArray<FakeCalendar>
  /** Requests allowed in flight per mailbox (default 4, Outlook's documented limit). */
  readonly concurrencyLimit?: number
  /** Sync states kept before the oldest is evicted (default 1000; eviction → syncStateNotFound). */
  readonly syncStateCapacity?: number
  /**
   * A used refresh token is refused afterwards (default false: the identity platform says old
   * refresh tokens stay valid; true checks that a client stores every rotated one).
   */
  readonly strictRotation?: boolean
}

export interface GraphFake {
  /** `http://127.0.0.1:<port>/v1.0`, the API base with its version path. */
  readonly apiUrl: string
  /** `http://127.0.0.1:<port>` (the identity platform's authority host; tenant in the path). */
  readonly authorityUrl: string
  readonly authorizeUrl: (tenant?: string) => string
  readonly tokenUrl: (tenant?: string) => string
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly mailbox: FakeMailbox
  readonly close: () => Promise<void>
  readonly addCalendar: (calendar: FakeCalendar) => void
  /** A grant as if a person had consented: a refresh token and a fresh access token. */
  readonly issueTokens: () => {
    readonly accessToken: string
    readonly refreshToken: string
    readonly expiresIn: number
  }
  /**
   * The person consents (or refuses) on the authorize page: the redirect the browser would follow,
   * with `code` and `state` (or `error=access_denied`).
   */
  readonly consent: (authorizeUrl: string, options?: { readonly deny?: boolean }) => string
  /** The stored event as a GET with ImmutableId and UTC would answer it (undefined when gone). */
  readonly event: (eventId: string) => Json | undefined
  /** Live events (single instances, series masters, exceptions) of a calendar, as stored. */
  readonly events: (calendarId: string) => ReadonlyArray<Json>
  /** A person's own event, created in Outlook (an original, not a copy). */
  readonly insertAsPerson: (calendarId: string, event: Json) => Json
  /** A person's edit in Outlook: the fields merged, a new etag. An occurrence's id makes an exception. */
  readonly edit: (eventId: string, fields: Json) => Json
  /** A person deletes an event (an occurrence's id cancels it). */
  readonly remove: (eventId: string) => void
  /** A person moves an event to another calendar: its REST id changes, its immutable id does not. */
  readonly move: (eventId: string, toCalendarId: string) => void
  /** Every sync state issued so far answers as `how` says from now on. */
  readonly expireDeltaTokens: (how: DeltaExpiry) => void
  /** The next incremental round also repeats what the previous round reported (a replay). */
  readonly replayNextRound: () => void
  /** The next delta page carries its first entry twice. */
  readonly repeatNextEntry: () => void
  /** Every access token issued so far answers 401 from now on (refresh tokens still work). */
  readonly expireAccessTokens: () => void
  /** Every grant so far is revoked: refresh answers `invalid_grant`, access tokens 401. */
  readonly revokeGrants: () => void
  /** The next `count` API requests fail with this answer (429 / 503 / 500 …). */
  readonly failNext: (count: number, failure: Failure) => void
  /** Every API request waits this long before it is answered (to make requests overlap). */
  readonly setLatency: (millis: number) => void
  /** The most API requests that were in flight at once (the 429ed ones not counted). */
  readonly maxInFlight: () => number
  readonly resetMaxInFlight: () => void
  readonly invitations: ReadonlyArray<Invitation>
  readonly requests: ReadonlyArray<LoggedRequest>
  /** Requests to the Graph API (not OAuth), optionally only those matching. */
  readonly apiRequestCount: (filter?: (r: LoggedRequest) => boolean) => number
  readonly resetLog: () => void
  /** Authorization requests the fake answered, with their parameters. */
  readonly authorizations: ReadonlyArray<Readonly<Record<string, string>>>
  /** Refresh tokens the token endpoint has issued, in order (rotation: one per grant use). */
  readonly issuedRefreshTokens: ReadonlyArray<string>
  /** Live (unexpired) subscriptions. */
  readonly subscriptions: () => ReadonlyArray<{
    readonly id: string
    readonly notificationUrl: string
    readonly expiration: number
  }>
  /** Notifications and validation requests sent, in order, with the receiver's answer. */
  readonly notifications: ReadonlyArray<Notification>
  /** Sends a lifecycle notification; `subscriptionRemoved` ends the subscription first, as Graph does. */
  readonly lifecycle: (subscriptionId: string, event: LifecycleEvent) => void
  /** Resolves when every notification sent so far has been answered. */
  readonly notificationsSettled: () => Promise<void>
}

export type LifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed"

export interface Notification {
  readonly subscriptionId: string
  readonly kind: "validation" | "change" | "lifecycle"
  /** The receiver's answer, or 0 when it could not be reached in time. */
  readonly status: number
}

interface Subscription {
  readonly id: string
  readonly notificationUrl: string
  readonly lifecycleNotificationUrl: string | undefined
  readonly clientState: string | undefined
  readonly changeTypes: ReadonlySet<string>
  readonly resource: string
  expiration: number
}

/** What Graph allows for an Outlook event subscription, in the revision the reference cites. */
const SUBSCRIPTION_MAX_MINUTES = 4230

// ---------------------------------------------------------------------------------------------
// errors and small helpers

class GraphError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly headers: Readonly<Record<string, string>> = {}
  ) {}
}

const errorBody = (e: GraphError): Json => ({
  error: {
    code: e.code,
    message: e.message,
    innerError: { date: new Date().toISOString().slice(0, 19), "request-id": randomBytes(8).toString("hex") }
  }
})

const notFound = () =>
  new GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
const invalid = (message: string) => new GraphError(400, "invalidRequest", message)

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const b64url = (buf: Buffer): string => buf.toString("base64url")
const hex = (n: number) => randomBytes(n).toString("hex")
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Prefer preferences, one per entry, from every Prefer header (RFC 7240: comma-separated). */
const preferences = (req: Http.IncomingMessage): ReadonlyArray<string> => {
  const raw = req.headers.prefer
  const all = Array.isArray(raw) ? raw.join(",") : (raw ?? "")
  const out: Array<string> = []
  let cur = ""
  let quoted = false
  for (const ch of all) {
    if (ch === '"') quoted = !quoted
    if (ch === "," && !quoted) {
      if (cur.trim() !== "") out.push(cur.trim())
      cur = ""
    } else cur += ch
  }
  if (cur.trim() !== "") out.push(cur.trim())
  return out
}

const preference = (prefs: ReadonlyArray<string>, name: string): string | undefined => {
  for (const p of prefs) {
    const i = p.indexOf("=")
    if (i < 0) continue
    if (p.slice(0, i).trim().toLowerCase() !== name.toLowerCase()) continue
    return p
      .slice(i + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// time: dateTimeTimeZone in and out

interface Wall {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const UTC_NAMES = new Set(["utc", "etc/utc", "gmt", "etc/gmt", "coordinated universal time"])

/** The IANA zone a Graph zone name means (a Windows name, a supported IANA name, or UTC). */
const ianaOf = (name: string): string | undefined => {
  if (UTC_NAMES.has(name.trim().toLowerCase())) return "UTC"
  const windows = Zone.windowsToIana(name)
  if (windows !== undefined) return windows
  return Zone.isIanaZone(name) && name.includes("/") ? name : undefined
}

const wallMs = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)
const wallOf = (ms: number): Wall => {
  const d = new Date(ms)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds()
  }
}

const toUtc = (iana: string, w: Wall): number => {
  if (iana === "UTC") return wallMs(w)
  const zone = Zone.intlZone(iana)
  return zone === undefined ? wallMs(w) : Zone.wallToUtc(zone, wallMs(w))
}
const toWall = (iana: string, utc: number): Wall => {
  if (iana === "UTC") return wallOf(utc)
  const zone = Zone.intlZone(iana)
  return wallOf(zone === undefined ? utc : Zone.utcToWall(zone, utc))
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")
/** Graph's form: no offset, seven fractional digits ("2016-12-09T20:30:00.0000000"). */
const formatWall = (w: Wall) =>
  `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}.0000000`

const parseWall = (text: unknown): Wall | undefined => {
  if (typeof text !== "string") return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?$/.exec(text)
  if (m === null) return undefined
  const w = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? 0)
  }
  return formatWall(wallOf(wallMs(w))) === formatWall(w) ? w : undefined
}

interface TimeIn {
  readonly wall: Wall
  /** The zone name as the client gave it (kept: Graph answers originalStartTimeZone with it). */
  readonly zoneName: string
  readonly iana: string
}

const readTime = (u: unknown, what: string): TimeIn => {
  if (!isObject(u)) throw invalid(`${what} is required.`)
  const wall = parseWall(u.dateTime)
  if (wall === undefined) throw invalid(`${what}.dateTime is not a date and time.`)
  const zoneName = typeof u.timeZone === "string" ? u.timeZone : "UTC"
  const iana = ianaOf(zoneName)
  if (iana === undefined)
    throw new GraphError(
      400,
      "TimeZoneNotSupportedException",
      `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${zoneName}'.`
    )
  return { wall, zoneName, iana }
}

/** Parses startDateTime/endDateTime query values: an offset or Z, or none (read as UTC, MSDELTA). */
const parseQueryInstant = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)(Z|[+-]\d{2}:\d{2})?$/i.exec(text)
  if (m === null) return undefined
  const t = Date.parse(`${(m[1] ?? "").slice(0, 19).padEnd(19, ":00")}${m[2] ?? "Z"}`)
  return Number.isNaN(t) ? undefined : t
}

// ---------------------------------------------------------------------------------------------
// stored events

type Kind = "single" | "master" | "exception" | "cancelled"

/** One stored record; replaced (never mutated) on every change, so snapshots stay what they were. */
interface Stored {
  readonly core: string
  readonly calendarId: string
  readonly kind: Kind
  /** The client's fields as Graph keeps them (subject, body, attendees, recurrence, …). */
  readonly fields: Json
  readonly start: TimeIn
  readonly end: TimeIn
  readonly isAllDay: boolean
  readonly startUtc: number
  readonly endUtc: number
  readonly seriesMasterCore: string | undefined
  readonly originalStartUtc: number | undefined
  readonly seq: number
  readonly created: string
  readonly modified: string
  readonly transactionId: string | undefined
  readonly iCalUId: string
  readonly extended: ReadonlyMap<string, string>
  readonly deleted: boolean
}

const IMMUTABLE_PREFIX = "AAkALg"
const REST_PREFIX = "AAMkAD"

const stamp = (utc: number) =>
  new Date(utc)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")

/** Extended property ids compare with their GUID case-insensitively and their name as written (B.7). */
const propertyKey = (id: string): string => {
  const m = /^(\w+)\s+\{([0-9a-fA-F-]+)\}\s+(Name|Id)\s+(.+)$/.exec(id.trim())
  return m === null
    ? id.trim()
    : `${m[1]?.toLowerCase()} {${m[2]?.toLowerCase()}} ${m[3]?.toLowerCase()} ${m[4]}`
}

const READ_ONLY = new Set([
  "id",
  "@odata.etag",
  "@odata.type",
  "@odata.context",
  "changeKey",
  "createdDateTime",
  "lastModifiedDateTime",
  "type",
  "seriesMasterId",
  "originalStart",
  "iCalUId",
  "webLink",
  "transactionId",
  "singleValueExtendedProperties",
  "originalStartTimeZone",
  "originalEndTimeZone",
  "isOrganizer",
  "organizer",
  "responseStatus",
  "bodyPreview",
  "hasAttachments",
  "start",
  "end",
  "isAllDay"
])

interface Prefs {
  readonly iana: string
  readonly zoneName: string
  readonly immutable: boolean
  readonly textBody: boolean
  readonly applied: Array<string>
}

interface ViewItem {
  readonly core: string
  readonly etag: string
  readonly startUtc: number
  readonly endUtc: number
  /** A full event (exception, single) or an occurrence, rendered with the request's preferences. */
  readonly render: (prefs: Prefs, stub: boolean) => Json
}

interface RoundState {
  readonly calendarId: string
  readonly defaultPath: boolean
  readonly window: { readonly start: number; readonly end: number }
  readonly known: ReadonlyMap<string, string>
  /** What the round that made this state reported as changed (for replays). */
  readonly reported: ReadonlyArray<string>
  readonly upTo: number
  readonly generation: number
}

interface PageState {
  readonly entries: ReadonlyArray<{ readonly core: string; readonly item: ViewItem | undefined }>
  readonly offset: number
  readonly final: RoundState
  readonly generation: number
}

export const start = (options: GraphFakeOptions = {}): Promise<GraphFake> => {
  const pageSize = options.pageSize ?? 3
  const ttl = options.accessTokenTtlSeconds ?? 3599
  const clientId = options.clientId ?? "11111111-2222-3333-4444-555555555555"
  const clientSecret = options.clientSecret
  const concurrencyLimit = options.concurrencyLimit ?? 4
  const capacity = options.syncStateCapacity ?? 1000
  const mailbox: FakeMailbox = options.mailbox ?? {
    id: "6e7b768e-07e2-4810-8459-485f84f8f204",
    displayName: "Megan Bowen",
    mail: "megan@contoso.example",
    userPrincipalName: "megan@contoso.example"
  }
  const calendars = new Map<string, FakeCalendar>()
  const events = new Map<string, Stored>()
  const moves = new Map<string, number>()
  const addCalendar = (c: FakeCalendar) => calendars.set(c.id, c)
  for (const c of options.calendars ?? [
    { id: "AAMkCal-default", name: "Calendar", canEdit: true, isDefaultCalendar: true }
  ])
    addCalendar(c)
  const defaultCalendar = () =>
    [...calendars.values()].find((c) => c.isDefaultCalendar === true) ?? [...calendars.values()][0]

  let seq = 0
  let generation = 0
  let expiry: DeltaExpiry = "reset"
  let replay = false
  let repeat = false
  let latency = 0
  let inFlight = 0
  let maxInFlight = 0
  const roundStates = new Map<string, RoundState>()
  const pageStates = new Map<string, PageState>()
  const failures: Array<Failure> = []
  const invitations: Array<Invitation> = []
  const requests: Array<LoggedRequest> = []
  const authorizations: Array<Record<string, string>> = []
  const issuedRefreshTokens: Array<string> = []
  const accessTokens = new Map<string, { expiresAt: number; grant: string }>()
  const refreshTokens = new Map<string, { grant: string; used: boolean }>()
  const grants = new Map<string, { revoked: boolean; scope: string }>()
  const codes = new Map<
    string,
    { redirectUri: string; challenge: string; used: boolean; scope: string; clientId: string }
  >()
  const subscriptions = new Map<string, Subscription>()
  const notifications: Array<Notification> = []
  const deliveries = new Set<Promise<void>>()

  // -------------------------------------------------------------------------------------------
  // ids

  const masterPart = (core: string) => core.split("_")[0] ?? core
  const idOut = (core: string, immutable: boolean): string => {
    if (immutable) return `${IMMUTABLE_PREFIX}${core}`
    const master = masterPart(core)
    const m = moves.get(master) ?? 0
    return `${REST_PREFIX}${master}${m > 0 ? `.m${m}` : ""}${core.slice(master.length)}`
  }
  /** The core of an id in either form; a REST id from before a move resolves to nothing. */
  const resolve = (id: string): string | undefined => {
    if (id.startsWith(IMMUTABLE_PREFIX)) return id.slice(IMMUTABLE_PREFIX.length)
    if (!id.startsWith(REST_PREFIX)) return undefined
    const m = /^([0-9a-f]+)(?:\.m(\d+))?(_.*)?$/.exec(id.slice(REST_PREFIX.length))
    if (m === null || m[1] === undefined) return undefined
    if (Number(m[2] ?? 0) !== (moves.get(m[1]) ?? 0)) return undefined
    return `${m[1]}${m[3] ?? ""}`
  }

  const etagOf = (seed: string) => `W/"${createHash("sha256").update(seed).digest("base64").slice(0, 24)}"`
  const etagOfStored = (s: Stored) => etagOf(`${s.core}:${s.seq}`)
  const etagOfOccurrence = (master: Stored, core: string) => etagOf(`${core}:${master.seq}`)

  // -------------------------------------------------------------------------------------------
  // recurrence

  const recurrenceOf = (s: Stored): Rec.Recurrence | undefined => {
    if (s.kind !== "master") return undefined
    const r = Rec.parse(s.fields.recurrence)
    return typeof r === "string" ? undefined : r
  }

  /** The original starts (UTC) of a master's occurrences up to `untilUtc`. */
  const occurrenceStarts = (master: Stored, untilUtc: number): ReadonlyArray<number> => {
    const rec = recurrenceOf(master)
    if (rec === undefined) return []
    const zone = master.start.iana
    const untilWall = toWall(zone, untilUtc)
    return Rec.dates(rec, { year: untilWall.year, month: untilWall.month, day: untilWall.day + 1 }).map((d) =>
      toUtc(zone, { ...master.start.wall, year: d.year, month: d.month, day: d.day })
    )
  }

  const occurrenceCore = (master: Stored, originalStartUtc: number) =>
    `${master.core}_${stamp(originalStartUtc)}`

  type Found =
    | { readonly _tag: "Stored"; readonly stored: Stored }
    | {
        readonly _tag: "Occurrence"
        readonly master: Stored
        readonly core: string
        readonly originalStartUtc: number
      }

  const parseStamp = (text: string): number =>
    Date.parse(text.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"))

  /** A live stored record (a deleted series member no longer stands for its occurrence). */
  const live = (core: string): Stored | undefined => {
    const s = events.get(core)
    return s === undefined || s.deleted ? undefined : s
  }

  const find = (calendarId: string | undefined, id: string): Found => {
    const core = resolve(id)
    if (core === undefined) throw notFound()
    const stored = events.get(core)
    if (stored !== undefined && (!stored.deleted || stored.seriesMasterCore === undefined)) {
      if (stored.deleted || stored.kind === "cancelled") throw notFound()
      if (calendarId !== undefined && stored.calendarId !== calendarId) throw notFound()
      return { _tag: "Stored", stored }
    }
    const cut = core.indexOf("_")
    if (cut < 0) throw notFound()
    const master = live(core.slice(0, cut))
    if (master === undefined || master.kind !== "master") throw notFound()
    if (calendarId !== undefined && master.calendarId !== calendarId) throw notFound()
    const wanted = parseStamp(core.slice(cut + 1))
    if (Number.isNaN(wanted)) throw notFound()
    const at = occurrenceStarts(master, wanted + 1).find((t) => t === wanted)
    if (at === undefined) throw notFound()
    return { _tag: "Occurrence", master, core, originalStartUtc: at }
  }

  // -------------------------------------------------------------------------------------------
  // rendering

  const renderTime = (t: TimeIn, utc: number, allDay: boolean, prefs: Prefs): Json =>
    allDay
      ? // An all-day event is its dates at midnight whatever zone the answer is in.
        { dateTime: formatWall({ ...t.wall, hour: 0, minute: 0, second: 0 }), timeZone: prefs.zoneName }
      : { dateTime: formatWall(toWall(prefs.iana, utc)), timeZone: prefs.zoneName }

  const escapeHtml = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, "<br>\r\n")

  /** Graph keeps bodies as HTML and answers HTML unless asked for text (event-get). */
  const renderBody = (body: unknown, prefs: Prefs): Json => {
    const b = isObject(body) ? body : {}
    const content = typeof b.content === "string" ? b.content : ""
    const html =
      b.contentType === "html"
        ? content
        : `<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n<body>\r\n${escapeHtml(content)}\r\n</body>\r\n</html>\r\n`
    if (!prefs.textBody) return { contentType: "html", content: html }
    const text =
      b.contentType === "html"
        ? content
            .replace(/<br\s*\/?>/gi, "\n")
            .replace(/<[^>]*>/g, "")
            .trim()
        : content
    return { contentType: "text", content: text }
  }

  const attendeeAddresses = (fields: Json): ReadonlyArray<string> =>
    (Array.isArray(fields.attendees) ? fields.attendees : []).flatMap((a) =>
      isObject(a) && isObject(a.emailAddress) && typeof a.emailAddress.address === "string"
        ? [a.emailAddress.address]
        : []
    )

  const renderFull = (
    s: Stored,
    prefs: Prefs,
    occurrence?: { readonly core: string; readonly originalStartUtc: number; readonly etag: string }
  ): Json => {
    const f = s.fields
    const kind = occurrence !== undefined ? "occurrence" : s.kind
    const core = occurrence?.core ?? s.core
    const startUtc = occurrence !== undefined ? occurrence.originalStartUtc : s.startUtc
    const endUtc = occurrence !== undefined ? startUtc + (s.endUtc - s.startUtc) : s.endUtc
    const wallShift = (t: TimeIn, utc: number): TimeIn => ({ ...t, wall: toWall(t.iana, utc) })
    const startT = occurrence !== undefined ? wallShift(s.start, startUtc) : s.start
    const endT = occurrence !== undefined ? wallShift(s.end, endUtc) : s.end
    const type =
      kind === "single"
        ? "singleInstance"
        : kind === "master"
          ? "seriesMaster"
          : kind === "exception"
            ? "exception"
            : "occurrence"
    const seriesMasterCore = occurrence !== undefined ? s.core : s.seriesMasterCore
    const originalStartUtc = occurrence !== undefined ? occurrence.originalStartUtc : s.originalStartUtc
    const owner = calendars.get(s.calendarId)?.owner ?? {
      name: mailbox.displayName,
      address: mailbox.mail ?? mailbox.userPrincipalName
    }
    const body = renderBody(f.body, prefs)
    return {
      "@odata.type": "#microsoft.graph.event",
      "@odata.etag": occurrence?.etag ?? etagOfStored(s),
      id: idOut(core, prefs.immutable),
      createdDateTime: s.created,
      lastModifiedDateTime: s.modified,
      changeKey: (occurrence?.etag ?? etagOfStored(s)).slice(3, -1),
      categories: Array.isArray(f.categories) ? f.categories : [],
      transactionId: s.transactionId ?? null,
      originalStartTimeZone: s.start.zoneName,
      originalEndTimeZone: s.end.zoneName,
      iCalUId: s.iCalUId,
      reminderMinutesBeforeStart:
        typeof f.reminderMinutesBeforeStart === "number" ? f.reminderMinutesBeforeStart : 15,
      isReminderOn: typeof f.isReminderOn === "boolean" ? f.isReminderOn : true,
      hasAttachments: false,
      subject: typeof f.subject === "string" ? f.subject : "",
      bodyPreview: String(body.content)
        .replace(/<[^>]*>/g, "")
        .trim()
        .slice(0, 255),
      importance: typeof f.importance === "string" ? f.importance : "normal",
      sensitivity: typeof f.sensitivity === "string" ? f.sensitivity : "normal",
      isAllDay: s.isAllDay,
      isCancelled: false,
      isOrganizer: true,
      responseRequested: typeof f.responseRequested === "boolean" ? f.responseRequested : true,
      seriesMasterId: seriesMasterCore === undefined ? null : idOut(seriesMasterCore, prefs.immutable),
      showAs: typeof f.showAs === "string" ? f.showAs : "busy",
      type,
      webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(idOut(core, false))}&exvsurl=1&path=/calendar/item`,
      onlineMeetingUrl: null,
      isOnlineMeeting: false,
      onlineMeetingProvider: "unknown",
      allowNewTimeProposals: true,
      isDraft: false,
      hideAttendees: false,
      responseStatus: { response: "organizer", time: "0001-01-01T00:00:00Z" },
      body,
      start: renderTime(startT, startUtc, s.isAllDay, prefs),
      end: renderTime(endT, endUtc, s.isAllDay, prefs),
      ...(originalStartUtc !== undefined
        ? { originalStart: new Date(originalStartUtc).toISOString().replace(".000Z", "Z") }
        : {}),
      location: isObject(f.location)
        ? { locationType: "default", uniqueIdType: "unknown", ...f.location }
        : { displayName: "", locationType: "default", uniqueIdType: "unknown", address: {}, coordinates: {} },
      locations:
        isObject(f.location) && typeof f.location.displayName === "string" && f.location.displayName !== ""
          ? [f.location]
          : [],
      recurrence: kind === "master" && isObject(f.recurrence) ? f.recurrence : null,
      attendees: (Array.isArray(f.attendees) ? f.attendees : []).map((a) =>
        isObject(a)
          ? { type: "required", status: { response: "none", time: "0001-01-01T00:00:00Z" }, ...a }
          : a
      ),
      organizer: { emailAddress: owner }
    }
  }

  const renderOccurrenceStub = (
    master: Stored,
    core: string,
    originalStartUtc: number,
    prefs: Prefs
  ): Json => {
    const endUtc = originalStartUtc + (master.endUtc - master.startUtc)
    const startT = { ...master.start, wall: toWall(master.start.iana, originalStartUtc) }
    const endT = { ...master.end, wall: toWall(master.end.iana, endUtc) }
    return {
      "@odata.type": "#microsoft.graph.event",
      "@odata.etag": etagOfOccurrence(master, core),
      id: idOut(core, prefs.immutable),
      seriesMasterId: idOut(master.core, prefs.immutable),
      type: "occurrence",
      start: renderTime(startT, originalStartUtc, master.isAllDay, prefs),
      end: renderTime(endT, endUtc, master.isAllDay, prefs)
    }
  }

  const withExpanded = (json: Json, s: Stored, expand: string | undefined): Json => {
    if (expand === undefined) return json
    const v = s.extended.get(propertyKey(expand))
    return { ...json, singleValueExtendedProperties: v === undefined ? [] : [{ id: expand, value: v }] }
  }

  const renderFound = (found: Found, prefs: Prefs, expand: string | undefined): Json =>
    found._tag === "Stored"
      ? withExpanded(renderFull(found.stored, prefs), found.stored, expand)
      : withExpanded(
          renderFull(found.master, prefs, {
            core: found.core,
            originalStartUtc: found.originalStartUtc,
            etag: etagOfOccurrence(found.master, found.core)
          }),
          found.master,
          expand
        )

  // -------------------------------------------------------------------------------------------
  // the calendar view: what a window holds now

  const overlaps = (s: number, e: number, w: { start: number; end: number }) =>
    s === e ? s >= w.start && s < w.end : s < w.end && e > w.start

  const viewItems = (calendarId: string, w: { start: number; end: number }): Map<string, ViewItem> => {
    const out = new Map<string, ViewItem>()
    for (const s of events.values()) {
      if (s.calendarId !== calendarId || s.deleted) continue
      if (s.kind === "single" || s.kind === "exception") {
        if (overlaps(s.startUtc, s.endUtc, w))
          out.set(s.core, {
            core: s.core,
            etag: etagOfStored(s),
            startUtc: s.startUtc,
            endUtc: s.endUtc,
            render: (prefs) => renderFull(s, prefs)
          })
      } else if (s.kind === "master") {
        for (const at of occurrenceStarts(s, w.end)) {
          const core = occurrenceCore(s, at)
          if (live(core) !== undefined) continue // an exception or a cancelled occurrence stands for it
          const end = at + (s.endUtc - s.startUtc)
          if (!overlaps(at, end, w)) continue
          const etag = etagOfOccurrence(s, core)
          out.set(core, {
            core,
            etag,
            startUtc: at,
            endUtc: end,
            render: (prefs, stub) =>
              stub
                ? renderOccurrenceStub(s, core, at, prefs)
                : renderFull(s, prefs, { core, originalStartUtc: at, etag })
          })
        }
      }
    }
    return out
  }

  // -------------------------------------------------------------------------------------------
  // writes

  const touch = (s: Omit<Stored, "seq" | "modified">): Stored => {
    seq += 1
    const previous = events.get(s.core)
    const stored: Stored = { ...s, seq, modified: new Date().toISOString().replace(/\.\d+Z$/, "Z") }
    events.set(stored.core, stored)
    notifyChange(stored, previous === undefined ? "created" : s.deleted ? "deleted" : "updated")
    return stored
  }

  // -------------------------------------------------------------------------------------------
  // subscriptions (module comment)

  const liveSub = (sub: Subscription) => sub.expiration > Date.now()

  const deliver = (subscriptionId: string, url: string, value: Json, kind: Notification["kind"]) => {
    const p = fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value: [value] }),
      signal: AbortSignal.timeout(3000)
    }).then(
      (res) => {
        notifications.push({ subscriptionId, kind, status: res.status })
      },
      () => {
        notifications.push({ subscriptionId, kind, status: 0 })
      }
    )
    deliveries.add(p)
    void p.finally(() => deliveries.delete(p))
  }

  const notifyChange = (s: Stored, changeType: string) => {
    const id = idOut(s.core, true)
    for (const sub of subscriptions.values()) {
      if (!liveSub(sub) || !sub.changeTypes.has(changeType)) continue
      deliver(
        sub.id,
        sub.notificationUrl,
        {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: new Date(sub.expiration).toISOString(),
          changeType,
          resource: `Users/${mailbox.id}/Events/${id}`,
          resourceData: {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": `Users/${mailbox.id}/Events/${id}`,
            id
          },
          ...(sub.clientState !== undefined ? { clientState: sub.clientState } : {}),
          tenantId: "9188040d-6c67-4c5b-b112-36a304b66dad"
        },
        "change"
      )
    }
  }

  /** Graph's check of an endpoint before a subscription exists: the token echoed, as text, in 10 s. */
  const validates = async (subscriptionId: string, url: string): Promise<boolean> => {
    // Real tokens hold spaces and colons: a receiver that does not URL-decode fails.
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${hex(8)}`
    const target = new URL(url)
    target.searchParams.set("validationToken", token)
    try {
      const res = await fetch(target, {
        method: "POST",
        headers: { "content-type": "text/plain; charset=utf-8" },
        signal: AbortSignal.timeout(10_000)
      })
      const text = await res.text()
      notifications.push({ subscriptionId, kind: "validation", status: res.status })
      return (
        res.status === 200 &&
        (res.headers.get("content-type") ?? "").startsWith("text/plain") &&
        text === token
      )
    } catch {
      notifications.push({ subscriptionId, kind: "validation", status: 0 })
      return false
    }
  }

  const receiverUrl = (name: string, value: unknown): string => {
    if (typeof value !== "string") throw invalid(`${name} is required.`)
    let u: URL
    try {
      u = new URL(value)
    } catch {
      throw invalid(`${name} is not a URL.`)
    }
    const loopback = u.protocol === "http:" && u.hostname === "127.0.0.1"
    if (u.protocol !== "https:" && !loopback) throw invalid(`Subscription ${name} must be an https URL.`)
    return value
  }

  const expirationOf = (value: unknown): number => {
    const at = typeof value === "string" ? Date.parse(value) : Number.NaN
    if (Number.isNaN(at)) throw invalid("expirationDateTime is required.")
    if (at <= Date.now()) throw invalid("Subscription expiration can only be in the future.")
    if (at > Date.now() + SUBSCRIPTION_MAX_MINUTES * 60_000)
      throw invalid(`Subscription expiration can only be ${SUBSCRIPTION_MAX_MINUTES} minutes in the future.`)
    return at
  }

  const renderSubscription = (sub: Subscription): Json => ({
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
    id: sub.id,
    resource: sub.resource,
    changeType: [...sub.changeTypes].join(","),
    notificationUrl: sub.notificationUrl,
    lifecycleNotificationUrl: sub.lifecycleNotificationUrl ?? null,
    expirationDateTime: new Date(sub.expiration).toISOString(),
    clientState: sub.clientState ?? null
  })

  const subscriptionRoute = async (
    method: string,
    id: string | undefined,
    body: () => Json
  ): Promise<{ status: number; json?: Json }> => {
    for (const [k, sub] of subscriptions) if (!liveSub(sub)) subscriptions.delete(k)
    if (id === undefined) {
      if (method === "GET")
        return { status: 200, json: { value: [...subscriptions.values()].map(renderSubscription) } }
      if (method !== "POST")
        throw new GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
      const b = body()
      const changeTypes = new Set(
        (typeof b.changeType === "string" ? b.changeType : "").split(",").map((t) => t.trim())
      )
      if (
        changeTypes.size === 0 ||
        [...changeTypes].some((t) => !["created", "updated", "deleted"].includes(t))
      )
        throw invalid("changeType must be created, updated or deleted.")
      const resource = typeof b.resource === "string" ? b.resource.replace(/^\//, "") : ""
      if (!/^(me|users\/[^/]+)\/events$/i.test(resource))
        throw new GraphError(
          400,
          "ExtensionError",
          `Operation: Create; Exception: [Status Code: BadRequest; Reason: The resource '${resource}' is not supported.]`
        )
      const notificationUrl = receiverUrl("notificationUrl", b.notificationUrl)
      const lifecycleNotificationUrl =
        b.lifecycleNotificationUrl === undefined || b.lifecycleNotificationUrl === null
          ? undefined
          : receiverUrl("lifecycleNotificationUrl", b.lifecycleNotificationUrl)
      const expiration = expirationOf(b.expirationDateTime)
      if (b.clientState !== undefined && (typeof b.clientState !== "string" || b.clientState.length > 128))
        throw invalid("clientState must be a string of at most 128 characters.")
      const sub: Subscription = {
        id: crypto.randomUUID(),
        notificationUrl,
        lifecycleNotificationUrl,
        clientState: typeof b.clientState === "string" ? b.clientState : undefined,
        changeTypes,
        resource,
        expiration
      }
      for (const url of [
        notificationUrl,
        ...(lifecycleNotificationUrl !== undefined ? [lifecycleNotificationUrl] : [])
      ])
        if (!(await validates(sub.id, url)))
          throw invalid(
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
          )
      subscriptions.set(sub.id, sub)
      return { status: 201, json: renderSubscription(sub) }
    }
    const sub = subscriptions.get(id)
    if (sub === undefined)
      throw new GraphError(404, "ResourceNotFound", `The object was not found. Subscription id: ${id}`)
    if (method === "GET") return { status: 200, json: renderSubscription(sub) }
    if (method === "PATCH") {
      sub.expiration = expirationOf(body().expirationDateTime)
      return { status: 200, json: renderSubscription(sub) }
    }
    if (method === "DELETE") {
      subscriptions.delete(id)
      return { status: 204 }
    }
    throw new GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
  }

  const recordInvitations = (s: Stored, method: Invitation["method"]) => {
    const attendees = attendeeAddresses(s.fields)
    if (attendees.length > 0)
      invitations.push({ calendarId: s.calendarId, eventId: idOut(s.core, true), method, attendees })
  }

  /** Times, all-day rule and recurrence checked as Graph checks them on a write. */
  const timesOf = (body: Json, previous: Stored | undefined) => {
    const start = body.start !== undefined ? readTime(body.start, "start") : previous?.start
    const end = body.end !== undefined ? readTime(body.end, "end") : previous?.end
    if (start === undefined) throw invalid("start is required.")
    if (end === undefined) throw invalid("end is required.")
    const isAllDay = typeof body.isAllDay === "boolean" ? body.isAllDay : (previous?.isAllDay ?? false)
    const startUtc = toUtc(start.iana, start.wall)
    const endUtc = toUtc(end.iana, end.wall)
    if (endUtc < startUtc) throw invalid("The end of the event is before its start.")
    if (isAllDay) {
      const midnight = (w: Wall) => w.hour === 0 && w.minute === 0 && w.second === 0
      // B.1: both at midnight in one time zone, and at least a day long.
      if (!midnight(start.wall) || !midnight(end.wall) || start.iana !== end.iana || endUtc <= startUtc)
        throw invalid("An all-day event's start and end must be midnights in the same time zone.")
    }
    return { start, end, isAllDay, startUtc, endUtc }
  }

  const checkRecurrence = (recurrence: unknown, start: TimeIn) => {
    const r = Rec.parse(recurrence)
    if (typeof r === "string") throw invalid(`Invalid recurrence: ${r}.`)
    // recurrencerange: startDate must be the date of the event's start.
    if (Rec.formatDate(r.range.startDate) !== Rec.formatDate(start.wall))
      throw invalid("The recurrence range's startDate must be the date of the event's start.")
  }

  const writableFields = (body: Json): Json => {
    const out: Json = {}
    for (const [k, v] of Object.entries(body)) if (!READ_ONLY.has(k) && !k.startsWith("@")) out[k] = v
    return out
  }

  const readExtended = (body: Json, base: ReadonlyMap<string, string>): Map<string, string> => {
    const out = new Map(base)
    const list = body.singleValueExtendedProperties
    if (list === undefined) return out
    if (!Array.isArray(list)) throw invalid("singleValueExtendedProperties must be a list.")
    for (const p of list) {
      if (!isObject(p) || typeof p.id !== "string" || typeof p.value !== "string")
        throw invalid("An extended property needs an id and a string value.")
      out.set(propertyKey(p.id), p.value)
    }
    return out
  }

  const calendarForWrite = (calendarId: string): FakeCalendar => {
    const c = calendars.get(calendarId)
    if (c === undefined) throw notFound()
    if (!c.canEdit)
      throw new GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    return c
  }

  const create = (calendarId: string, body: Json): Stored => {
    calendarForWrite(calendarId)
    const transactionId = typeof body.transactionId === "string" ? body.transactionId : undefined
    if (transactionId !== undefined) {
      // user-post-events: a retried POST with the same transactionId does not make a second event.
      // The fake remembers it while the event lives, mailbox-wide.
      for (const s of events.values())
        if (!s.deleted && s.transactionId === transactionId && s.kind !== "cancelled") return s
    }
    const t = timesOf(body, undefined)
    const fields = writableFields(body)
    if (fields.recurrence === null) delete fields.recurrence
    if (fields.recurrence !== undefined) checkRecurrence(fields.recurrence, t.start)
    const core = hex(12)
    const stored = touch({
      core,
      calendarId,
      kind: fields.recurrence !== undefined ? "master" : "single",
      fields,
      ...t,
      seriesMasterCore: undefined,
      originalStartUtc: undefined,
      created: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      transactionId,
      iCalUId: `040000008200E00074C5B7101A82E008000000${hex(16).toUpperCase()}`,
      extended: readExtended(body, new Map()),
      deleted: false
    })
    recordInvitations(stored, "create")
    return stored
  }

  const dropSeriesMembers = (masterCore: string) => {
    for (const s of [...events.values()])
      if (s.seriesMasterCore === masterCore && !s.deleted) touch({ ...s, deleted: true })
  }

  const update = (found: Found, body: Json): Stored => {
    if (found._tag === "Occurrence") {
      const m = found.master
      calendarForWrite(m.calendarId)
      // Updating an occurrence makes it an exception under the same id (B.4).
      const base: Stored = {
        ...m,
        core: found.core,
        kind: "exception",
        fields: { ...m.fields, recurrence: undefined },
        start: { ...m.start, wall: toWall(m.start.iana, found.originalStartUtc) },
        end: { ...m.end, wall: toWall(m.end.iana, found.originalStartUtc + (m.endUtc - m.startUtc)) },
        startUtc: found.originalStartUtc,
        endUtc: found.originalStartUtc + (m.endUtc - m.startUtc),
        seriesMasterCore: m.core,
        originalStartUtc: found.originalStartUtc,
        transactionId: undefined
      }
      const { recurrence: _r, ...rest } = writableFields(body)
      const t = timesOf(body, base)
      const fields = { ...base.fields, ...rest }
      delete fields.recurrence
      const stored = touch({ ...base, fields, ...t, extended: readExtended(body, m.extended) })
      recordInvitations(stored, "update")
      return stored
    }
    const s = found.stored
    calendarForWrite(s.calendarId)
    const t = timesOf(body, s)
    const patch = writableFields(body)
    const fields: Json = { ...s.fields, ...patch }
    let kind = s.kind
    if (s.kind === "master" || s.kind === "single") {
      if (fields.recurrence === null || fields.recurrence === undefined) {
        delete fields.recurrence
        kind = "single"
      } else {
        checkRecurrence(fields.recurrence, t.start)
        kind = "master"
      }
    } else delete fields.recurrence
    const seriesChanged =
      s.kind === "master" &&
      (kind !== "master" ||
        JSON.stringify(fields.recurrence) !== JSON.stringify(s.fields.recurrence) ||
        t.startUtc !== s.startUtc ||
        t.endUtc !== s.endUtc)
    const stored = touch({ ...s, kind, fields, ...t, extended: readExtended(body, s.extended) })
    // A new pattern or a moved series has new occurrences: the old exceptions and cancellations go.
    if (seriesChanged) dropSeriesMembers(s.core)
    recordInvitations(stored, "update")
    return stored
  }

  const destroy = (found: Found) => {
    if (found._tag === "Occurrence") {
      const m = found.master
      calendarForWrite(m.calendarId)
      touch({
        ...m,
        core: found.core,
        kind: "cancelled",
        fields: {},
        seriesMasterCore: m.core,
        originalStartUtc: found.originalStartUtc,
        startUtc: found.originalStartUtc,
        endUtc: found.originalStartUtc + (m.endUtc - m.startUtc),
        transactionId: undefined
      })
      recordInvitations(m, "cancel")
      return
    }
    const s = found.stored
    calendarForWrite(s.calendarId)
    recordInvitations(s, "cancel")
    if (s.kind === "exception") {
      touch({ ...s, kind: "cancelled", fields: {} })
      return
    }
    touch({ ...s, deleted: true })
    if (s.kind === "master") dropSeriesMembers(s.core)
  }

  const checkIfMatch = (found: Found, req: Http.IncomingMessage) => {
    const ifMatch = req.headers["if-match"]
    if (ifMatch === undefined || ifMatch === "*") return
    const current =
      found._tag === "Stored" ? etagOfStored(found.stored) : etagOfOccurrence(found.master, found.core)
    if (ifMatch !== current)
      throw new GraphError(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."
      )
  }

  // -------------------------------------------------------------------------------------------
  // delta

  const rememberRound = (state: RoundState): string => {
    const token = b64url(randomBytes(18))
    roundStates.set(token, state)
    // The documented cache: the oldest sync states are evicted when it is full.
    while (roundStates.size > capacity) {
      const oldest = roundStates.keys().next().value
      if (oldest === undefined) break
      roundStates.delete(oldest)
    }
    return token
  }

  const expiredState = (initialUrl: string, how: DeltaExpiry = expiry) => {
    switch (how) {
      case "reset":
        return new GraphError(
          410,
          "resyncRequired",
          "The sync state is gone; restart with a full synchronization.",
          {
            location: initialUrl
          }
        )
      case "syncStateNotFound":
        return new GraphError(
          400,
          "syncStateNotFound",
          "The sync state generation is not found. The delta token is expired and data must be synchronized again."
        )
      case "resyncRequired":
        return new GraphError(
          400,
          "resyncRequired",
          "The delta token is no longer valid, and the app must reset the sync state."
        )
    }
  }

  const delta = (
    origin: string,
    calendar: FakeCalendar,
    defaultPath: boolean,
    q: ReadonlyMap<string, string>,
    prefs: Prefs,
    requestedPageSize: number | undefined
  ): Json => {
    for (const p of ["$select", "$expand", "$filter", "$orderby", "$search"])
      if (q.has(p))
        throw invalid(
          `The query parameter '${p}' is not supported with change tracking over the 'calendarView' resource.`
        )
    const base = `${origin}/v1.0${defaultPath ? "/me/calendarView/delta" : `/me/calendars/${encodeURIComponent(calendar.id)}/calendarView/delta`}`
    const size = Math.max(1, Math.min(requestedPageSize ?? pageSize, pageSize))
    if (requestedPageSize !== undefined)
      prefs.applied.push(`odata.maxpagesize=${Math.min(requestedPageSize, pageSize)}`)

    const servePage = (page: PageState): Json => {
      const slice = page.entries.slice(page.offset, page.offset + size)
      const value = slice.map((e) =>
        e.item === undefined
          ? {
              "@odata.type": "#microsoft.graph.event",
              id: idOut(e.core, prefs.immutable),
              "@removed": { reason: "deleted" }
            }
          : e.item.render(prefs, true)
      )
      if (repeat && value[0] !== undefined) {
        repeat = false
        value.push(value[0])
      }
      const more = page.offset + size < page.entries.length
      if (more) {
        const token = b64url(randomBytes(18))
        pageStates.set(token, { ...page, offset: page.offset + size })
        return {
          "@odata.context": `${origin}/v1.0/$metadata#Collection(event)`,
          "@odata.nextLink": `${base}?$skiptoken=${token}`,
          value
        }
      }
      const token = rememberRound(page.final)
      return {
        "@odata.context": `${origin}/v1.0/$metadata#Collection(event)`,
        "@odata.deltaLink": `${base}?$deltatoken=${token}`,
        value
      }
    }

    const windowUrl = (w: { start: number; end: number }) =>
      `${base}?startDateTime=${new Date(w.start).toISOString()}&endDateTime=${new Date(w.end).toISOString()}&$deltatoken=`

    const skip = q.get("$skiptoken")
    if (skip !== undefined) {
      const page = pageStates.get(skip)
      // An unknown or evicted state is an expired token (delta-query-overview, Token duration).
      if (page === undefined || page.final.calendarId !== calendar.id)
        throw expiredState(base, "syncStateNotFound")
      if (page.generation !== generation) throw expiredState(windowUrl(page.final.window))
      return servePage(page)
    }

    const deltaToken = q.get("$deltatoken")
    let previous: RoundState | undefined
    let w: { start: number; end: number }
    if (deltaToken !== undefined && deltaToken !== "") {
      previous = roundStates.get(deltaToken)
      if (previous === undefined || previous.calendarId !== calendar.id)
        throw expiredState(base, "syncStateNotFound")
      if (previous.generation !== generation) throw expiredState(windowUrl(previous.window))
      w = previous.window
    } else {
      const s = parseQueryInstant(q.get("startdatetime"))
      const e = parseQueryInstant(q.get("enddatetime"))
      if (s === undefined || e === undefined)
        throw new GraphError(
          400,
          "ErrorInvalidParameter",
          "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
        )
      if (e <= s) throw invalid("The end of the time window must be after its start.")
      w = { start: s, end: e }
    }
    const now = viewItems(calendar.id, w)
    const entries: Array<{ core: string; item: ViewItem | undefined }> = []
    const known = previous?.known ?? new Map<string, string>()
    const replayed = replay && previous !== undefined ? new Set(previous.reported) : new Set<string>()
    if (previous !== undefined) replay = false
    for (const item of now.values())
      if (known.get(item.core) !== item.etag || replayed.has(item.core))
        entries.push({ core: item.core, item })
    for (const core of known.keys()) if (!now.has(core)) entries.push({ core, item: undefined })
    if (previous !== undefined) {
      // MSDELTA: a round also names, under @removed, events outside the window that were added,
      // updated or deleted since the previous round.
      for (const s of events.values())
        if (
          s.calendarId === calendar.id &&
          s.seq > previous.upTo &&
          (s.kind === "single" || s.kind === "exception" || s.kind === "cancelled") &&
          !now.has(s.core) &&
          !known.has(s.core)
        )
          entries.push({ core: s.core, item: undefined })
    }
    const final: RoundState = {
      calendarId: calendar.id,
      defaultPath,
      window: w,
      known: new Map([...now.values()].map((i) => [i.core, i.etag])),
      reported: entries.filter((e) => e.item !== undefined).map((e) => e.core),
      upTo: seq,
      generation
    }
    return servePage({ entries, offset: 0, final, generation })
  }

  // -------------------------------------------------------------------------------------------
  // lists

  const FILTER =
    /^singleValueExtendedProperties\/any\(\s*(\w+)\s*:\s*\1\/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+\1\/value\s+eq\s+'((?:[^']|'')*)'\s*\)$/i
  const EXPAND = /^singleValueExtendedProperties\(\$filter=id\s+eq\s+'((?:[^']|'')*)'\)$/i

  const expandOf = (q: ReadonlyMap<string, string>): string | undefined => {
    const e = q.get("$expand")
    if (e === undefined) return undefined
    const m = EXPAND.exec(e.trim())
    if (m === null || m[1] === undefined)
      throw invalid(
        `The fake supports only $expand=singleValueExtendedProperties($filter=id eq '…'), not ${e}.`
      )
    return m[1].replace(/''/g, "'")
  }

  const paged = (
    origin: string,
    path: string,
    q: ReadonlyMap<string, string>,
    all: ReadonlyArray<Json>
  ): Json => {
    const top = Math.max(1, Math.min(Number(q.get("$top") ?? pageSize) || pageSize, pageSize))
    const skipN = Number(q.get("$skip") ?? 0) || 0
    const value = all.slice(skipN, skipN + top)
    const next = new URL(`${origin}/v1.0${path}`)
    for (const [k, v] of q) if (k !== "$skip") next.searchParams.set(k, v)
    next.searchParams.set("$skip", String(skipN + top))
    return {
      "@odata.context": `${origin}/v1.0/$metadata#Collection(event)`,
      value,
      ...(skipN + top < all.length ? { "@odata.nextLink": next.href } : {})
    }
  }

  const listEvents = (
    origin: string,
    path: string,
    calendarId: string,
    q: ReadonlyMap<string, string>,
    prefs: Prefs
  ): Json => {
    const expand = expandOf(q)
    const filter = q.get("$filter")
    let match: ((s: Stored) => boolean) | undefined
    if (filter !== undefined) {
      const m = FILTER.exec(filter.trim())
      if (m === null || m[2] === undefined || m[3] === undefined)
        throw invalid(
          `The fake supports only $filter=singleValueExtendedProperties/any(ep: ep/id eq '…' and ep/value eq '…'), not ${filter}.`
        )
      const key = propertyKey(m[2].replace(/''/g, "'"))
      const value = m[3].replace(/''/g, "'").toLowerCase()
      // B.7: the value is matched case-insensitively.
      match = (s) => s.extended.get(key)?.toLowerCase() === value
    }
    const all = [...events.values()]
      .filter(
        (s) => s.calendarId === calendarId && !s.deleted && (s.kind === "single" || s.kind === "master")
      )
      .filter((s) => match === undefined || match(s))
      .sort((a, b) => a.created.localeCompare(b.created) || a.core.localeCompare(b.core))
      .map((s) => withExpanded(renderFull(s, prefs), s, expand))
    return paged(origin, path, q, all)
  }

  const instances = (
    origin: string,
    path: string,
    found: Found,
    q: ReadonlyMap<string, string>,
    prefs: Prefs
  ): Json => {
    if (found._tag !== "Stored" || found.stored.kind !== "master")
      throw invalid("The event is not a series master.")
    const m = found.stored
    const s = parseQueryInstant(q.get("startdatetime"))
    const e = parseQueryInstant(q.get("enddatetime"))
    if (s === undefined || e === undefined)
      throw new GraphError(
        400,
        "ErrorInvalidParameter",
        "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
      )
    const expand = expandOf(q)
    const items = [...viewItems(m.calendarId, { start: s, end: e }).values()]
      .filter((i) => i.core.startsWith(`${m.core}_`))
      .sort((a, b) => a.startUtc - b.startUtc)
      .map((i) => withExpanded(i.render(prefs, false), events.get(i.core) ?? m, expand))
    return paged(origin, path, q, items)
  }

  // -------------------------------------------------------------------------------------------
  // getSchedule

  const AVAILABILITY: Readonly<Record<string, string>> = {
    free: "0",
    tentative: "1",
    busy: "2",
    oof: "3",
    workingElsewhere: "4"
  }
  const RANK = ["0", "4", "1", "2", "3"]

  const getSchedule = (body: Json, prefs: Prefs): Json => {
    const schedules = Array.isArray(body.schedules) ? body.schedules.filter((x) => typeof x === "string") : []
    if (schedules.length === 0) throw invalid("schedules is required.")
    const st = readTime(body.startTime, "startTime")
    const et = readTime(body.endTime, "endTime")
    const s = toUtc(st.iana, st.wall)
    const e = toUtc(et.iana, et.wall)
    const interval = typeof body.availabilityViewInterval === "number" ? body.availabilityViewInterval : 30
    if (!(interval >= 5 && interval <= 1440)) throw invalid("availabilityViewInterval must be 5-1440.")
    if (e <= s) throw invalid("endTime must be after startTime.")
    const own = new Set(
      [mailbox.mail, mailbox.userPrincipalName].flatMap((a) => (a === null ? [] : [a.toLowerCase()]))
    )
    const cal = defaultCalendar()
    return {
      value: schedules.map((address) => {
        if (!own.has(address.toLowerCase()) || cal === undefined)
          return {
            scheduleId: address,
            availabilityView: "",
            scheduleItems: [],
            error: { message: "The user could not be found.", responseCode: "ErrorMailRecipientNotFound" }
          }
        const items = [...viewItems(cal.id, { start: s, end: e }).values()].map((i) => {
          const json = i.render(prefs, false)
          return {
            isPrivate: json.sensitivity === "private",
            status: String(json.showAs),
            subject: json.subject,
            location: isObject(json.location) ? json.location.displayName : "",
            start: json.start,
            end: json.end,
            startUtc: i.startUtc,
            endUtc: i.endUtc
          }
        })
        let view = ""
        for (let t = s; t < e; t += interval * 60_000) {
          const slotEnd = Math.min(e, t + interval * 60_000)
          let best = "0"
          for (const it of items)
            if (overlaps(it.startUtc, it.endUtc, { start: t, end: slotEnd })) {
              const d = AVAILABILITY[it.status] ?? "2"
              if (RANK.indexOf(d) > RANK.indexOf(best)) best = d
            }
          view += best
        }
        return {
          scheduleId: address,
          availabilityView: view,
          scheduleItems: items
            .filter((i) => i.status !== "free")
            .map(({ startUtc: _s, endUtc: _e, ...rest }) => rest),
          workingHours: {
            daysOfWeek: ["monday", "tuesday", "wednesday", "thursday", "friday"],
            startTime: "08:00:00.0000000",
            endTime: "17:00:00.0000000",
            timeZone: { name: "UTC" }
          }
        }
      })
    }
  }

  // -------------------------------------------------------------------------------------------
  // the API router

  const authenticate = (req: Http.IncomingMessage) => {
    const header = req.headers.authorization
    const token = header?.startsWith("Bearer ") ? header.slice(7) : undefined
    const entry = token === undefined ? undefined : accessTokens.get(token)
    const refused = (message: string) =>
      new GraphError(401, "InvalidAuthenticationToken", message, {
        "www-authenticate": `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`
      })
    if (entry === undefined)
      throw refused(token === undefined ? "Access token is empty." : "IDX14100: JWT is not well formed.")
    if (entry.expiresAt <= Date.now()) throw refused("Lifetime validation failed, the token is expired.")
    if (grants.get(entry.grant)?.revoked !== false) throw refused("Access token has been revoked.")
  }

  const prefsOf = (prefs: ReadonlyArray<string>): Prefs => {
    const applied: Array<string> = []
    const tz = preference(prefs, "outlook.timezone")
    const iana = tz === undefined ? undefined : ianaOf(tz)
    // An unknown zone is not applied: the answer stays in UTC (no Preference-Applied for it).
    if (tz !== undefined && iana !== undefined) applied.push(`outlook.timezone="${tz}"`)
    const immutable = preference(prefs, "IdType") === "ImmutableId"
    if (immutable) applied.push('IdType="ImmutableId"')
    const textBody = preference(prefs, "outlook.body-content-type") === "text"
    if (textBody) applied.push('outlook.body-content-type="text"')
    return {
      iana: iana ?? "UTC",
      zoneName: iana === undefined || tz === undefined ? "UTC" : tz,
      immutable,
      textBody,
      applied
    }
  }

  const api = async (
    req: Http.IncomingMessage,
    url: URL,
    body: string,
    prefs: Prefs,
    rawPrefs: ReadonlyArray<string>
  ): Promise<{ status: number; json?: Json }> => {
    const failure = failures.shift()
    if (failure !== undefined)
      throw new GraphError(
        failure.status,
        failure.code,
        failure.status === 429 ? "Too many requests." : "The service is temporarily unavailable.",
        failure.retryAfter !== undefined ? { "retry-after": failure.retryAfter } : {}
      )
    const origin = url.origin
    const path = url.pathname.slice("/v1.0".length)
    const q = new Map<string, string>()
    for (const [k, v] of url.searchParams) q.set(k.toLowerCase(), v)
    const method = req.method ?? "GET"
    const parsed = (): Json => {
      try {
        const v: unknown = JSON.parse(body)
        if (isObject(v)) return v
      } catch {}
      throw new GraphError(400, "BadRequest", "Unable to read JSON request payload.")
    }
    const maxPage = (() => {
      const v = preference(rawPrefs, "odata.maxpagesize")
      const top = q.get("$top")
      const n = Number(v ?? top ?? Number.NaN)
      return Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined
    })()

    if (method === "GET" && path === "/me")
      return {
        status: 200,
        json: { "@odata.context": `${origin}/v1.0/$metadata#users/$entity`, ...mailbox }
      }
    if (method === "GET" && path === "/me/calendars") {
      const all = [...calendars.values()].map((c) => ({
        id: c.id,
        name: c.name,
        color: "auto",
        hexColor: "",
        isDefaultCalendar: c.isDefaultCalendar === true,
        changeKey: etagOf(c.id).slice(3, -1),
        canShare: c.canEdit,
        canViewPrivateItems: true,
        canEdit: c.canEdit,
        allowedOnlineMeetingProviders: ["teamsForBusiness"],
        defaultOnlineMeetingProvider: "teamsForBusiness",
        isTallyingResponses: true,
        isRemovable: c.isDefaultCalendar !== true,
        owner: c.owner ?? { name: mailbox.displayName, address: mailbox.mail ?? mailbox.userPrincipalName }
      }))
      return { status: 200, json: paged(origin, path, q, all) }
    }
    if (method === "POST" && path === "/me/calendar/getSchedule")
      return { status: 200, json: getSchedule(parsed(), prefs) }
    const subscriptionPath = /^\/subscriptions(?:\/([^/]+))?$/.exec(path)
    if (subscriptionPath !== null)
      return await subscriptionRoute(
        method,
        subscriptionPath[1] === undefined ? undefined : decodeURIComponent(subscriptionPath[1]),
        parsed
      )

    const deltaMatch = /^\/me(?:\/calendars\/([^/]+))?\/calendarView\/delta$/i.exec(path)
    if (method === "GET" && deltaMatch !== null) {
      const cid = deltaMatch[1] === undefined ? defaultCalendar()?.id : decodeURIComponent(deltaMatch[1])
      const cal = cid === undefined ? undefined : calendars.get(cid)
      if (cal === undefined) throw notFound()
      return { status: 200, json: delta(origin, cal, deltaMatch[1] === undefined, q, prefs, maxPage) }
    }

    const m = /^\/me(?:\/calendars\/([^/]+))?\/events(?:\/([^/]+)(\/instances)?)?$/.exec(path)
    if (m === null) throw new GraphError(400, "BadRequest", `Resource not found for the segment '${path}'.`)
    const calendarId = m[1] === undefined ? undefined : decodeURIComponent(m[1])
    if (calendarId !== undefined && !calendars.has(calendarId)) throw notFound()
    const eventId = m[2] === undefined ? undefined : decodeURIComponent(m[2])
    if (eventId === undefined) {
      const cid = calendarId ?? defaultCalendar()?.id
      if (cid === undefined) throw notFound()
      if (method === "GET") return { status: 200, json: listEvents(origin, path, cid, q, prefs) }
      if (method === "POST") {
        const s = create(cid, parsed())
        return { status: 201, json: withExpanded(renderFull(s, prefs), s, expandOf(q)) }
      }
      throw new GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
    }
    const found = find(calendarId, eventId)
    if (m[3] !== undefined) {
      if (method !== "GET")
        throw new GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
      return { status: 200, json: instances(origin, path, found, q, prefs) }
    }
    switch (method) {
      case "GET":
        return { status: 200, json: renderFound(found, prefs, expandOf(q)) }
      case "PATCH": {
        checkIfMatch(found, req)
        const s = update(found, parsed())
        return { status: 200, json: withExpanded(renderFull(s, prefs), s, expandOf(q)) }
      }
      case "DELETE":
        checkIfMatch(found, req)
        destroy(found)
        return { status: 204 }
      default:
        throw new GraphError(405, "ErrorInvalidRequest", "The OData request is not supported.")
    }
  }

  // -------------------------------------------------------------------------------------------
  // OAuth (Microsoft identity platform v2.0)

  const oauthError = (status: number, error: string, aadsts: number, description: string) => ({
    status,
    json: {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${hex(8)} Correlation ID: ${hex(8)} Timestamp: ${new Date().toISOString()}`,
      error_codes: [aadsts],
      timestamp: new Date().toISOString(),
      trace_id: hex(8),
      correlation_id: hex(8),
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`
    }
  })

  const newAccessToken = (grant: string) => {
    const token = `EwB${b64url(randomBytes(24))}`
    accessTokens.set(token, { expiresAt: Date.now() + ttl * 1000, grant })
    return token
  }
  const newRefreshToken = (grant: string) => {
    const token = `M.C5${b64url(randomBytes(24))}`
    refreshTokens.set(token, { grant, used: false })
    issuedRefreshTokens.push(token)
    return token
  }
  const issueTokens = () => {
    const grant = hex(8)
    grants.set(grant, { revoked: false, scope: "Calendars.ReadWrite User.Read offline_access" })
    return { accessToken: newAccessToken(grant), refreshToken: newRefreshToken(grant), expiresIn: ttl }
  }

  const tokenAnswer = (grant: string, scope: string) => ({
    status: 200,
    json: {
      token_type: "Bearer",
      scope,
      expires_in: ttl,
      ext_expires_in: ttl,
      access_token: newAccessToken(grant),
      // offline_access is what gets a refresh token (B.10).
      ...(scope.split(" ").includes("offline_access") ? { refresh_token: newRefreshToken(grant) } : {})
    }
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
    if (id !== clientId)
      return oauthError(
        400,
        "unauthorized_client",
        700016,
        `Application with identifier '${id ?? ""}' was not found in the directory.`
      )
    if (clientSecret !== undefined && secret !== clientSecret)
      return oauthError(401, "invalid_client", 7000215, "Invalid client secret provided.")
    switch (form.get("grant_type")) {
      case "authorization_code": {
        const code = codes.get(form.get("code") ?? "")
        if (code === undefined)
          return oauthError(400, "invalid_grant", 70000, "The provided authorization code is invalid.")
        if (code.used)
          return oauthError(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed.")
        code.used = true
        if (code.redirectUri !== form.get("redirect_uri"))
          return oauthError(
            400,
            "invalid_grant",
            50148,
            "The redirect_uri specified in the token request does not match the one used in the authorization request."
          )
        const verifier = form.get("code_verifier") ?? ""
        if (b64url(createHash("sha256").update(verifier).digest()) !== code.challenge)
          return oauthError(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request."
          )
        const grant = hex(8)
        grants.set(grant, { revoked: false, scope: code.scope })
        return tokenAnswer(grant, code.scope)
      }
      case "refresh_token": {
        const r = refreshTokens.get(form.get("refresh_token") ?? "")
        const g = r === undefined ? undefined : grants.get(r.grant)
        if (r === undefined || g === undefined)
          return oauthError(
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid."
          )
        if (g.revoked)
          return oauthError(
            400,
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked."
          )
        if (r.used && options.strictRotation === true)
          return oauthError(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity."
          )
        r.used = true
        // Refresh tokens replace themselves on every use (refresh-tokens): a new one each time.
        return tokenAnswer(r.grant, g.scope)
      }
      default:
        return oauthError(
          400,
          "unsupported_grant_type",
          70003,
          "The app requested an unsupported grant type."
        )
    }
  }

  const authorizeProblems = (p: Record<string, string>): ReadonlyArray<string> =>
    [
      p.client_id !== clientId ? "client_id" : undefined,
      p.response_type !== "code" ? "response_type" : undefined,
      p.code_challenge_method !== "S256" || (p.code_challenge ?? "") === "" ? "code_challenge" : undefined,
      p.redirect_uri === undefined ? "redirect_uri" : undefined,
      (p.scope ?? "") === "" ? "scope" : undefined
    ].filter((x) => x !== undefined)

  const consent = (authorizeUrl: string, opts: { readonly deny?: boolean } = {}): string => {
    const url = new URL(authorizeUrl)
    const p = Object.fromEntries(url.searchParams)
    authorizations.push(p)
    const problems = authorizeProblems(p)
    if (problems.length > 0 || p.redirect_uri === undefined)
      throw new Error(`the authorize request is invalid (${problems.join(", ")})`)
    const back = new URL(p.redirect_uri)
    if (opts.deny === true) {
      back.searchParams.set("error", "access_denied")
      back.searchParams.set("error_description", "AADSTS65004: User declined to consent to access the app.")
    } else {
      const code = `M.C5_BAY.2.${b64url(randomBytes(24))}`
      codes.set(code, {
        redirectUri: p.redirect_uri,
        challenge: p.code_challenge ?? "",
        used: false,
        scope: p.scope ?? "",
        clientId
      })
      back.searchParams.set("code", code)
    }
    if (p.state !== undefined) back.searchParams.set("state", p.state)
    return back.href
  }

  // -------------------------------------------------------------------------------------------
  // the server

  const server = Http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`)
      const body = await readBody(req)
      const isApi = url.pathname.startsWith("/v1.0/")
      const rawPrefs = preferences(req)
      let status = 0
      const send = (s: number, json: Json | undefined, headers: Record<string, string> = {}) => {
        status = s
        res.writeHead(s, {
          ...(json === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
          ...headers
        })
        res.end(json === undefined ? "" : JSON.stringify(json))
      }
      const fail = (e: unknown) => {
        if (e instanceof GraphError) send(e.status, errorBody(e), e.headers)
        else send(500, errorBody(new GraphError(500, "generalException", String(e))))
      }
      try {
        if (isApi) {
          authenticate(req)
          // throttling-limits (Outlook): 4 concurrent requests per app and mailbox.
          if (inFlight >= concurrencyLimit) {
            send(
              429,
              errorBody(
                new GraphError(
                  429,
                  "ApplicationThrottled",
                  "Application is over its MailboxConcurrency limit."
                )
              ),
              {
                "retry-after": "1"
              }
            )
          } else {
            inFlight += 1
            maxInFlight = Math.max(maxInFlight, inFlight)
            try {
              if (latency > 0) await sleep(latency)
              const prefs = prefsOf(rawPrefs)
              const r = await api(req, url, body, prefs, rawPrefs)
              send(
                r.status,
                r.json,
                prefs.applied.length > 0 ? { "preference-applied": prefs.applied.join(", ") } : {}
              )
            } catch (e) {
              fail(e)
            } finally {
              inFlight -= 1
            }
          }
        } else if (req.method === "GET" && /^\/[^/]+\/oauth2\/v2\.0\/authorize$/.test(url.pathname)) {
          // The fake consents at once, as a person clicking Accept would.
          try {
            const location = consent(url.href)
            status = 302
            res.writeHead(302, { location })
            res.end()
          } catch (e) {
            status = 400
            res.writeHead(400, { "content-type": "text/plain" })
            res.end(String(e))
          }
        } else if (req.method === "POST" && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
          const r = token(req, body)
          send(r.status, r.json, { "cache-control": "no-store" })
        } else send(404, { error: "not_found" })
      } catch (e) {
        fail(e)
      }
      requests.push({
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ifMatch: typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : undefined,
        prefer: rawPrefs,
        authorization: req.headers.authorization !== undefined,
        status
      })
    })()
  })

  const personPrefs = (): Prefs => ({
    iana: "UTC",
    zoneName: "UTC",
    immutable: true,
    textBody: false,
    applied: []
  })
  const findAny = (id: string) => find(undefined, id)

  return new Promise((resolveStart) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const origin = `http://127.0.0.1:${port}`
      resolveStart({
        apiUrl: `${origin}/v1.0`,
        authorityUrl: origin,
        authorizeUrl: (tenant = "common") => `${origin}/${tenant}/oauth2/v2.0/authorize`,
        tokenUrl: (tenant = "common") => `${origin}/${tenant}/oauth2/v2.0/token`,
        clientId,
        clientSecret,
        mailbox,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
        addCalendar,
        issueTokens,
        consent,
        event: (eventId) => {
          try {
            return renderFound(findAny(eventId), personPrefs(), undefined)
          } catch {
            return undefined
          }
        },
        events: (calendarId) =>
          [...events.values()]
            .filter((s) => s.calendarId === calendarId && !s.deleted && s.kind !== "cancelled")
            .map((s) => renderFull(s, personPrefs())),
        insertAsPerson: (calendarId, event) => renderFull(create(calendarId, event), personPrefs()),
        edit: (eventId, fields) => renderFull(update(findAny(eventId), fields), personPrefs()),
        remove: (eventId) => destroy(findAny(eventId)),
        move: (eventId, toCalendarId) => {
          const found = findAny(eventId)
          if (found._tag !== "Stored" || !calendars.has(toCalendarId)) throw new Error("cannot move that")
          const s = found.stored
          moves.set(s.core, (moves.get(s.core) ?? 0) + 1)
          for (const o of [...events.values()])
            if (o.core === s.core || o.seriesMasterCore === s.core) touch({ ...o, calendarId: toCalendarId })
        },
        expireDeltaTokens: (how) => {
          expiry = how
          generation += 1
        },
        replayNextRound: () => {
          replay = true
        },
        repeatNextEntry: () => {
          repeat = true
        },
        expireAccessTokens: () => {
          for (const t of accessTokens.values()) t.expiresAt = 0
        },
        revokeGrants: () => {
          for (const g of grants.values()) g.revoked = true
        },
        failNext: (count, failure) => {
          for (let i = 0; i < count; i++) failures.push(failure)
        },
        setLatency: (ms) => {
          latency = ms
        },
        maxInFlight: () => maxInFlight,
        resetMaxInFlight: () => {
          maxInFlight = 0
        },
        invitations,
        requests,
        apiRequestCount: (filter) =>
          requests.filter((r) => r.path.startsWith("/v1.0/") && (filter === undefined || filter(r))).length,
        resetLog: () => {
          requests.length = 0
        },
        authorizations,
        issuedRefreshTokens,
        subscriptions: () =>
          [...subscriptions.values()]
            .filter(liveSub)
            .map((sub) => ({ id: sub.id, notificationUrl: sub.notificationUrl, expiration: sub.expiration })),
        notifications,
        lifecycle: (subscriptionId, event) => {
          const sub = subscriptions.get(subscriptionId)
          if (sub === undefined) throw new Error(`no subscription ${subscriptionId}`)
          if (event === "subscriptionRemoved") subscriptions.delete(subscriptionId)
          deliver(
            sub.id,
            sub.lifecycleNotificationUrl ?? sub.notificationUrl,
            {
              subscriptionId: sub.id,
              subscriptionExpirationDateTime: new Date(sub.expiration).toISOString(),
              tenantId: "9188040d-6c67-4c5b-b112-36a304b66dad",
              ...(sub.clientState !== undefined ? { clientState: sub.clientState } : {}),
              lifecycleEvent: event
            },
            "lifecycle"
          )
        },
        notificationsSettled: async () => {
          while (deliveries.size > 0) await Promise.all([...deliveries])
        }
      })
    })
  })
}

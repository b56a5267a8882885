/** How a failed answer becomes the error a caller acts on. */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import {
  type CalDavError,
  EtagMismatch,
  NotFound,
  ProtocolError,
  RateLimited,
  Rejected,
  TokenInvalid,
  Transient,
  UidConflict,
  Unauthorized
} from "../CalDavError.js"
import { displayUrl, type RawResponse } from "./exchange.js"
import * as Multistatus from "./multistatus.js"
import * as RetryAfter from "./retryAfter.js"
import * as Xml from "./xml.js"

export interface Call {
  readonly method: string
  readonly url: string
  /** The sync token this request carried, if any: its rejection is TokenInvalid whatever the status. */
  readonly token?: string | undefined
}

export const ok = (status: number) => status >= 200 && status < 300

const excerpt = (body: string): string => {
  const flat = body
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim()
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat
}

export const conditionElements = (body: string): ReadonlyArray<Xml.XmlElement> => {
  if (!body.includes("<")) return []
  const root = Xml.parse(body)
  if (Either.isLeft(root)) return []
  const found: Array<Xml.XmlElement> = []
  const walk = (el: Xml.XmlElement): void => {
    if (Xml.is(el, Xml.DAV, "error")) found.push(...el.children)
    else for (const c of el.children) walk(c)
  }
  walk(root.right)
  return found
}

/** Turns a non-success answer into the error a caller acts on. */
export const classify = (call: Call, res: RawResponse, now: number = Date.now()): CalDavError => {
  const base = { method: call.method, url: displayUrl(call.url) }
  const status = res.status
  const conditions = conditionElements(res.body)
  const names = conditions.map((c) => c.name)
  if (status === 401) return new Unauthorized({ ...base, status })
  if (status === 429 || status === 503) {
    return new RateLimited({ ...base, status, retryAfter: RetryAfter.parse(res.headers["retry-after"], now) })
  }
  // RFC 4791's no-uid-conflict, or RFC 6638's unique-scheduling-object-resource, which servers
  // that enforce one UID per calendar home answer (403) for the same refusal
  const uid = conditions.find(
    (c) =>
      Xml.is(c, Xml.CALDAV, "no-uid-conflict") || Xml.is(c, Xml.CALDAV, "unique-scheduling-object-resource")
  )
  if (uid !== undefined) {
    return new UidConflict({
      ...base,
      status,
      existing: Option.flatMap(Multistatus.text(Xml.find(uid, Xml.DAV, "href")), (h) =>
        Multistatus.resolveHref(h, res.url)
      )
    })
  }
  if (
    call.token !== undefined &&
    !names.includes("supported-report") &&
    (names.includes("valid-sync-token") || [400, 403, 409, 410, 500].includes(status))
  ) {
    return new TokenInvalid({ ...base, status, token: call.token })
  }
  // A bare 412 is a failed If-Match / If-None-Match. A 412 that names a precondition is about the
  // content (Xandikos: 207 around 412 valid-calendar-data), which a refetch would not fix.
  if (status === 412 && names.length === 0) return new EtagMismatch({ ...base, status })
  if (status === 404 || status === 410) return new NotFound({ ...base, status })
  if (status >= 500 || status === 408) {
    return new Transient({ ...base, status: Option.some(status), reason: `server answered ${status}` })
  }
  if (status >= 400) return new Rejected({ ...base, status, conditions: names, detail: excerpt(res.body) })
  return new ProtocolError({ ...base, status: Option.some(status), reason: `unexpected status ${status}` })
}

export const protocolError = (call: Call, res: RawResponse, reason: string) =>
  new ProtocolError({
    method: call.method,
    url: displayUrl(call.url),
    status: Option.some(res.status),
    reason
  })

/**
 * A WebDAV 207 body read into plain data: per response its absolute href, its response-level
 * status, and the properties that came back 200. A 404 propstat (iCloud lists every missing
 * property there, even an empty getctag) never shadows a 200 value.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Xml from "./xml.js"

export interface PropResponse {
  readonly href: string
  /** Status of the response itself (RFC 4918 `<response><status>`), e.g. 404 for a deleted member. */
  readonly status: Option.Option<number>
  readonly props: ReadonlyMap<string, Xml.XmlElement>
  /** Local names of the preconditions inside `<response><error>`. */
  readonly errors: ReadonlyArray<string>
}

export interface Multistatus {
  readonly responses: ReadonlyArray<PropResponse>
  readonly syncToken: Option.Option<string>
}

export const key = (ns: string, name: string): string => `{${ns}}${name}`

/** "HTTP/1.1 404 Not Found" → 404 */
export const parseStatusLine = (line: string): Option.Option<number> => {
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/i.exec(line)
  return m?.[1] === undefined ? Option.none() : Option.some(Number(m[1]))
}

/** Resolves a server href against the URL the request went to; hrefs are returned absolute. */
export const resolveHref = (href: string, base: string): Option.Option<string> => {
  try {
    return Option.some(new URL(href.trim(), base).href)
  } catch {
    return Option.none()
  }
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/**
 * A comparison key for URLs: servers disagree on percent-encoding (`%40` vs `@`) and on the
 * trailing slash of collections, neither of which changes the resource.
 */
export const sameResourceKey = (url: string): string => {
  try {
    const u = new URL(url)
    const path = safeDecode(u.pathname).replace(/\/+$/, "")
    return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}${path}`
  } catch {
    return url.replace(/\/+$/, "")
  }
}

export const text = (el: Xml.XmlElement | undefined): Option.Option<string> => {
  if (el === undefined) return Option.none()
  const t = el.text.trim()
  return t === "" ? Option.none() : Option.some(t)
}

export const prop = (r: PropResponse, ns: string, name: string): Xml.XmlElement | undefined =>
  r.props.get(key(ns, name))

export const propText = (r: PropResponse, ns: string, name: string): Option.Option<string> =>
  text(prop(r, ns, name))

/** Reads a multistatus document; `base` is the URL the request was finally sent to. */
export const fromElement = (root: Xml.XmlElement, base: string): Either.Either<Multistatus, string> => {
  if (!Xml.is(root, Xml.DAV, "multistatus")) {
    return Either.left(`expected a DAV: multistatus root, got {${root.ns}}${root.name}`)
  }
  const responses: Array<PropResponse> = []
  for (const r of Xml.children(root, Xml.DAV, "response")) {
    const hrefEl = Xml.child(r, Xml.DAV, "href")
    const rawHref = text(hrefEl)
    if (Option.isNone(rawHref)) return Either.left("a response without an href")
    const href = resolveHref(rawHref.value, base)
    if (Option.isNone(href)) return Either.left(`an unparseable href ${JSON.stringify(rawHref.value)}`)
    const props = new Map<string, Xml.XmlElement>()
    for (const ps of Xml.children(r, Xml.DAV, "propstat")) {
      const status = Option.flatMap(text(Xml.child(ps, Xml.DAV, "status")), parseStatusLine)
      // A propstat without a status is malformed; only an explicit 2xx counts as a value.
      const ok = Option.exists(status, (s) => s >= 200 && s < 300)
      if (!ok) continue
      for (const p of Xml.children(ps, Xml.DAV, "prop")) {
        for (const el of p.children) props.set(key(el.ns, el.name), el)
      }
    }
    const errorEl = Xml.child(r, Xml.DAV, "error")
    responses.push({
      href: href.value,
      status: Option.flatMap(text(Xml.child(r, Xml.DAV, "status")), parseStatusLine),
      props,
      errors: errorEl === undefined ? [] : errorEl.children.map((c) => c.name)
    })
  }
  return Either.right({
    responses: lastOfEach(responses),
    syncToken: text(Xml.child(root, Xml.DAV, "sync-token"))
  })
}

/**
 * One row per resource. RFC 4918 gives each href one response; an answer that repeats one (a
 * proxy's or server's bug) must not list a member twice. The later row wins, in the earlier row's
 * place, as sync-collection's later rounds override earlier ones.
 */
const lastOfEach = (responses: ReadonlyArray<PropResponse>): ReadonlyArray<PropResponse> => {
  const byKey = new Map<string, PropResponse>()
  for (const r of responses) byKey.set(sameResourceKey(r.href), r)
  return byKey.size === responses.length ? responses : [...byKey.values()]
}

export const parse = (
  body: string,
  base: string,
  limits?: Xml.XmlLimits
): Either.Either<Multistatus, string> =>
  Either.flatMap(Xml.parse(body, limits), (root) => fromElement(root, base))

/**
 * Local names of the preconditions/postconditions a body carries (`<D:error><C:no-uid-conflict/>`),
 * found anywhere in the document: Xandikos wraps them in a 207, others send them bare.
 */
export const conditions = (body: string, limits?: Xml.XmlLimits): ReadonlyArray<string> => {
  if (!body.includes("<")) return []
  const root = Xml.parse(body, limits)
  if (Either.isLeft(root)) return []
  const found: Array<string> = []
  const walk = (el: Xml.XmlElement): void => {
    if (Xml.is(el, Xml.DAV, "error")) for (const c of el.children) found.push(c.name)
    for (const c of el.children) walk(c)
  }
  walk(root.right)
  return found
}

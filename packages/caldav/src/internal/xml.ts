/**
 * The one place that touches fast-xml-parser. Everything else sees `XmlElement`, whose names
 * are resolved to namespace URIs: servers pick arbitrary prefixes (`D:`, `ns0:`, a default
 * `xmlns="DAV:"` repeated on every element), so a prefix means nothing on its own.
 */
import * as Either from "effect/Either"
import { XMLParser } from "fast-xml-parser"

export const DAV = "DAV:"
export const CALDAV = "urn:ietf:params:xml:ns:caldav"
export const CALSERVER = "http://calendarserver.org/ns/"
export const APPLE_ICAL = "http://apple.com/ns/ical/"

export interface XmlElement {
  readonly ns: string
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement>
  /** Concatenated character data directly inside this element (CDATA included, entities decoded). */
  readonly text: string
}

export interface XmlLimits {
  readonly maxBytes: number
  readonly maxDepth: number
  /**
   * Most elements a body may hold. Bytes alone do not bound memory: a parsed element costs some
   * hundreds of bytes whatever its text, so 30 MB of bare `<response>`s (600,000 of them) once
   * took 1.2 GB. Counted before parsing, so a refusal costs one scan.
   */
  readonly maxElements: number
}

/**
 * 300,000 elements is a multistatus of about 50,000 entries (an etag listing or sync-collection
 * spends six elements on each), some 200 MB while parsed; a larger calendar needs an answer in
 * pages, which the client does not ask for yet.
 */
export const defaultLimits: XmlLimits = { maxBytes: 32 * 1024 * 1024, maxDepth: 64, maxElements: 300_000 }

/**
 * Start tags in a body, counted without parsing: every `<` followed by a name. A `<` inside CDATA
 * or a comment may be counted too, which errs on the side of refusing.
 */
export const countElements = (body: string, stopAfter = Number.POSITIVE_INFINITY): number => {
  let n = 0
  let i = body.indexOf("<")
  while (i !== -1 && n <= stopAfter) {
    const c = body.charCodeAt(i + 1)
    // not "/", "!", "?" nor whitespace: a start tag
    if (c !== 47 && c !== 33 && c !== 63 && c > 32) n++
    i = body.indexOf("<", i + 1)
  }
  return n
}

const parser = (limits: XmlLimits) =>
  new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    removeNSPrefix: false,
    // ctags such as "00123" must stay strings
    parseTagValue: false,
    parseAttributeValue: false,
    // calendar-data is returned verbatim; whitespace-only nodes between elements are dropped below
    trimValues: false,
    // iCloud writes CR as &#13; inside calendar-data; only this option decodes numeric references
    htmlEntities: true,
    // DOCTYPE is refused before parsing, so declared entities cannot occur; the limits are a
    // second fence in case that check is ever loosened
    processEntities: {
      enabled: true,
      maxEntityCount: 1,
      maxEntitySize: 1,
      maxExpandedLength: 100_000,
      maxTotalExpansions: 1_000
    },
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: limits.maxDepth
  })

type RawNode = Record<string, unknown>

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const attributesOf = (node: RawNode): Record<string, string> => {
  const raw = node[":@"]
  const out: Record<string, string> = {}
  if (isRecord(raw)) {
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === "string") out[k] = v
      else if (typeof v === "boolean" || typeof v === "number") out[k] = String(v)
    }
  }
  return out
}

const textOfRaw = (node: RawNode): string | undefined => {
  const t = node["#text"]
  if (typeof t === "string") return t
  if (typeof t === "number" || typeof t === "boolean") return String(t)
  return undefined
}

type Scope = ReadonlyMap<string, string>

const splitName = (qname: string): readonly [string | undefined, string] => {
  const i = qname.indexOf(":")
  return i === -1 ? [undefined, qname] : [qname.slice(0, i), qname.slice(i + 1)]
}

const convert = (nodes: ReadonlyArray<unknown>, scope: Scope): Either.Either<Array<XmlElement>, string> => {
  const out: Array<XmlElement> = []
  for (const node of nodes) {
    if (!isRecord(node)) continue
    const tag = Object.keys(node).find((k) => k !== ":@" && k !== "#text")
    if (tag === undefined) continue
    const attrs = attributesOf(node)
    // The scope is copied only where an element declares a namespace: most declare none.
    let declared: Map<string, string> | undefined
    const plain: Record<string, string> = {}
    for (const [k, v] of Object.entries(attrs)) {
      const prefix = k === "xmlns" ? "" : k.startsWith("xmlns:") ? k.slice(6) : undefined
      if (prefix === undefined) plain[k] = v
      else {
        declared ??= new Map(scope)
        declared.set(prefix, v)
      }
    }
    const local: Scope = declared ?? scope
    const [prefix, name] = splitName(tag)
    const ns = local.get(prefix ?? "")
    if (prefix !== undefined && ns === undefined) {
      return Either.left(`undeclared namespace prefix "${prefix}" on <${tag}>`)
    }
    const rawChildren = node[tag]
    const childNodes = Array.isArray(rawChildren) ? rawChildren : []
    const texts: Array<string> = []
    for (const c of childNodes) {
      if (isRecord(c)) {
        const t = textOfRaw(c)
        if (t !== undefined) texts.push(t)
      }
    }
    const children = convert(childNodes, local)
    if (Either.isLeft(children)) return children
    const joined = texts.join("")
    out.push({
      ns: ns ?? "",
      name,
      attributes: plain,
      children: children.right,
      text: children.right.length > 0 && joined.trim() === "" ? "" : joined
    })
  }
  return Either.right(out)
}

const doctype = /<!DOCTYPE/i

/**
 * Parses a WebDAV body. Refuses DOCTYPE outright (WebDAV never needs one, and it is the door to
 * entity expansion), bounds size and nesting, and fails with a reason instead of throwing.
 */
export const parse = (body: string, limits: XmlLimits = defaultLimits): Either.Either<XmlElement, string> => {
  if (body.length > limits.maxBytes) return Either.left(`XML body larger than ${limits.maxBytes} characters`)
  if (body.trim() === "") return Either.left("empty body where XML was expected")
  if (doctype.test(body)) return Either.left("XML body contains a DOCTYPE declaration, which is refused")
  if (countElements(body, limits.maxElements) > limits.maxElements)
    return Either.left(
      `XML body has more than ${limits.maxElements} elements (a multistatus that large is refused before it is parsed)`
    )
  let raw: unknown
  try {
    raw = parser(limits).parse(body, true)
  } catch (e) {
    return Either.left(`malformed XML: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!Array.isArray(raw)) return Either.left("malformed XML: no document")
  return Either.flatMap(convert(raw, new Map([["xml", "http://www.w3.org/XML/1998/namespace"]])), (roots) => {
    const root = roots[0]
    if (root === undefined) return Either.left("XML body has no root element")
    return Either.right(root)
  })
}

export const is = (el: XmlElement, ns: string, name: string): boolean => el.ns === ns && el.name === name

export const children = (el: XmlElement, ns: string, name: string): ReadonlyArray<XmlElement> =>
  el.children.filter((c) => is(c, ns, name))

export const child = (el: XmlElement, ns: string, name: string): XmlElement | undefined =>
  el.children.find((c) => is(c, ns, name))

/** Depth-first search, the element itself included. */
export const find = (el: XmlElement, ns: string, name: string): XmlElement | undefined => {
  if (is(el, ns, name)) return el
  for (const c of el.children) {
    const hit = find(c, ns, name)
    if (hit !== undefined) return hit
  }
  return undefined
}

export const escapeText = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

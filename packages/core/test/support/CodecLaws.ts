/**
 * The round-trip-and-hash laws every codec keeps (iCalendar on CalDAV, Google's JSON, later
 * Graph's): what a provider's normalize keeps is what its codec reads back, so that a copy read
 * back from its target hashes as it did when we wrote it, and the target's own rewriting never
 * looks like a person's edit. A codec's test calls `laws` with its three functions.
 */
import { expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ContentHash from "../../src/ContentHash.js"
import type * as EventModel from "../../src/EventModel.js"
import * as EventArbitraries from "./EventArbitraries.js"

export interface Codec<Wire> {
  readonly encode: (resource: EventModel.EventResource) => Wire
  readonly decode: (wire: Wire) => Either.Either<EventModel.EventResource, { readonly reason: string }>
  /** The provider's normalize: what it can store of a resource. */
  readonly normalize: (resource: EventModel.EventResource) => EventModel.EventResource
}

/**
 * Text as people and other clients write it, not only as we would: bare CRs and CRLFs too, which
 * some wires cannot keep (iCalendar text has LF line breaks only).
 */
export const roughText: FastCheck.Arbitrary<string> = FastCheck.tuple(
  EventArbitraries.text(),
  FastCheck.constantFrom("", "\r", "\r\n", "\n"),
  EventArbitraries.text()
).map(([a, br, b]) => `${a}${br}${b}`)

/** Registers the laws as properties (call inside a `describe`). */
export const laws = <Wire>(
  codec: Codec<Wire>,
  options: {
    readonly resources?: FastCheck.Arbitrary<EventModel.EventResource>
    /** Runs per law (default EventArbitraries.numRuns): a slow codec can ask for fewer. */
    readonly numRuns?: number
  } = {}
): void => {
  const resources = options.resources ?? EventArbitraries.resource(roughText)
  const propOptions = () =>
    options.numRuns === undefined
      ? EventArbitraries.propOptions()
      : { ...EventArbitraries.propOptions(), fastCheck: { numRuns: options.numRuns } }
  const back = (r: EventModel.EventResource) => {
    const decoded = codec.decode(codec.encode(r))
    if (Either.isLeft(decoded))
      throw new Error(`the codec could not read back what it wrote: ${decoded.left.reason}`)
    return decoded.right
  }

  it.prop(
    "normalize is idempotent",
    [resources],
    ([r]) => {
      const once = codec.normalize(r)
      expect(codec.normalize(once)).toEqual(once)
    },
    propOptions()
  )

  it.prop(
    "decode(encode(normalize(r))) has the content hash of normalize(r)",
    [resources],
    ([r]) => {
      const normalized = codec.normalize(r)
      expect(ContentHash.of(back(normalized))).toBe(ContentHash.of(normalized))
    },
    propOptions()
  )

  it.prop(
    "what is read back is already normalized: writing it again changes nothing",
    [resources],
    ([r]) => {
      const first = back(codec.normalize(r))
      expect(ContentHash.of(codec.normalize(first))).toBe(ContentHash.of(first))
      expect(ContentHash.of(back(first))).toBe(ContentHash.of(first))
    },
    propOptions()
  )
}

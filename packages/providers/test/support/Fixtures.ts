import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { EventModel } from "@almanac/core"
import * as Either from "effect/Either"
import * as ICalCodec from "../../src/ICalCodec.js"

/** The replayed iCloud answers live with the CalDAV client's tests; the codec reads their calendar data. */
const ICLOUD = join(import.meta.dirname, "../../../caldav/test/fixtures/icloud")

export const icloudFixture = (name: string): string => readFileSync(join(ICLOUD, name), "utf8")

/** Parses or throws with the BadItem's reason, for tests that expect success. */
export const parseOrThrow = (text: string, href = "/test.ics"): EventModel.EventResource => {
  const r = ICalCodec.parseEither(text, { href })
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

/** Builds calendar-object text from lines, joined with CRLF. */
export const ics = (...lines: ReadonlyArray<string>): string => `${lines.join("\r\n")}\r\n`

export const vcalendar = (...lines: ReadonlyArray<string>): string =>
  ics("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Test//EN", ...lines, "END:VCALENDAR")

export const at = (iso: string): Date => new Date(iso)

export const isoIntervals = (
  xs: ReadonlyArray<{ start: Date; end: Date }>
): ReadonlyArray<[string, string]> => xs.map((x) => [x.start.toISOString(), x.end.toISOString()])

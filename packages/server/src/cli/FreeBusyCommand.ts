import { CalDavClient } from "@almanac/caldav"
import { FreeBusy } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Console, Effect, Option } from "effect"
import type * as Cli from "./Cli.js"
import { CliError } from "./CliError.js"
import * as Output from "./Output.js"
import * as Password from "./Password.js"
import * as RequestTimeout from "./RequestTimeout.js"

const parseInstant = (name: string, text: string) => {
  const d = new Date(text)
  return Number.isNaN(d.getTime())
    ? Effect.fail(new CliError({ message: `--${name}: not an ISO 8601 date-time: ${text}` }))
    : Effect.succeed(d)
}

const isZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * Busy time across calendars, computed here: a calendar-query per calendar (iCloud has no
 * free-busy-query REPORT) and our own recurrence expansion.
 */
export const freebusy = (args: Cli.FreeBusyArgs) =>
  Effect.gen(function* () {
    if (args.calendar.length === 0)
      return yield* new CliError({ message: "give at least one --calendar URL" })
    const start = yield* parseInstant("start", args.start)
    const end = yield* parseInstant("end", args.end)
    if (end.getTime() <= start.getTime())
      return yield* new CliError({ message: "--end must be after --start" })
    const password = yield* Password.resolve({
      ...args,
      envVar: "ALMANAC_PASSWORD",
      fileFlag: "--password-file",
      label: "calendars"
    })
    const auth =
      Option.isSome(args.user) && Option.isSome(password)
        ? { user: args.user.value, password: password.value }
        : undefined
    const client = yield* CalDavClient.make({ auth, timeout: yield* RequestTimeout.fromEnv() })
    const window = { start, end }
    const items = yield* Effect.forEach(
      args.calendar,
      (url) => client.query(url, FreeBusy.queryRange(window)),
      {
        concurrency: 4
      }
    )
    const resources = []
    const hrefs: Array<string> = []
    const skipped: Array<{ readonly href: string; readonly reason: string }> = []
    for (const item of items.flat()) {
      const parsed = yield* ICalCodec.parse(item.data, { href: item.href }).pipe(Effect.either)
      if (parsed._tag === "Right") {
        resources.push(parsed.right)
        hrefs.push(item.href)
      } else skipped.push({ href: item.href, reason: parsed.left.reason })
    }
    if (!isZone(args.zone)) return yield* new CliError({ message: `--zone: unknown time zone ${args.zone}` })
    const report = FreeBusy.report(resources, window, { floatingZone: args.zone })
    // A series cut short (more instances than the budget) is shown up to the cut and named.
    for (const c of report.cut)
      skipped.push({ href: hrefs[c.index] ?? c.uid, reason: FreeBusy.cutReason(c.cut) })
    for (const s of skipped) yield* Console.error(`almanac: skipped ${s.href}: ${s.reason}`)
    const busy = report.busy.map((i) => ({
      start: i.start.toISOString(),
      end: i.end.toISOString()
    }))
    if (args.json) return yield* Console.log(Output.toJson({ busy, skipped }))
    if (busy.length === 0) return yield* Console.log("free the whole time")
    for (const b of busy) yield* Console.log(`${b.start}  ${b.end}`)
  })

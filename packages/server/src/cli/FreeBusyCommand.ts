import { CalDavClient } from "@almanac/caldav"
import { FreeBusy } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { CliError } from "./CliError.js"
import * as Output from "./Output.js"
import * as Password from "./Password.js"

const instant = (name: string) =>
  Options.text(name).pipe(
    Options.withDescription(`${name} of the window, ISO 8601 (e.g. 2026-11-23T00:00:00Z)`)
  )

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
export const command = Command.make(
  "freebusy",
  {
    calendar: Options.text("calendar").pipe(
      Options.withDescription("calendar URL (repeat for several)"),
      Options.repeated
    ),
    user: Options.text("user").pipe(Options.optional),
    passwordFile: Options.file("password-file").pipe(Options.optional),
    start: instant("start"),
    end: instant("end"),
    zone: Options.text("zone").pipe(
      Options.withDescription(
        "the zone where all-day and floating events fall, e.g. Europe/Berlin (default UTC)"
      ),
      Options.withDefault("UTC")
    ),
    json: Options.boolean("json")
  },
  (args) =>
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
      const client = yield* CalDavClient.make({ auth })
      const window = { start, end }
      const items = yield* Effect.forEach(
        args.calendar,
        (url) => client.query(url, FreeBusy.queryRange(window)),
        {
          concurrency: 4
        }
      )
      const resources = []
      for (const item of items.flat()) {
        const parsed = yield* ICalCodec.parse(item.data, { href: item.href }).pipe(Effect.either)
        if (parsed._tag === "Right") resources.push(parsed.right)
        else yield* Console.error(`almanac: skipped ${item.href}: ${parsed.left.message}`)
      }
      if (!isZone(args.zone))
        return yield* new CliError({ message: `--zone: unknown time zone ${args.zone}` })
      const busy = FreeBusy.busy(resources, window, { floatingZone: args.zone }).map((i) => ({
        start: i.start.toISOString(),
        end: i.end.toISOString()
      }))
      if (args.json) return yield* Console.log(Output.toJson({ busy }))
      if (busy.length === 0) return yield* Console.log("free the whole time")
      for (const b of busy) yield* Console.log(`${b.start}  ${b.end}`)
    })
).pipe(Command.withDescription("busy intervals (UTC) across calendars for a time range"))

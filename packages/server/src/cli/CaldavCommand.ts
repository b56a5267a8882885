import { CalDavClient } from "@almanac/caldav"
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as Output from "./Output.js"
import * as Password from "./Password.js"

const user = Options.text("user").pipe(Options.withDescription("user name for Basic auth"), Options.optional)
const passwordFile = Options.file("password-file").pipe(
  Options.withDescription("read the password from this file (else ALMANAC_PASSWORD, else a prompt)"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document"))

/** A client for one account, with the password taken from the environment, a file or a prompt. */
const clientFor = (options: {
  user: Option.Option<string>
  passwordFile: Option.Option<string>
  label: string
}) =>
  Effect.gen(function* () {
    const password = yield* Password.resolve({
      ...options,
      envVar: "ALMANAC_PASSWORD",
      fileFlag: "--password-file"
    })
    const auth =
      Option.isSome(options.user) && Option.isSome(password)
        ? { user: options.user.value, password: password.value }
        : undefined
    return yield* CalDavClient.make({ auth })
  })

const discover = Command.make(
  "discover",
  {
    url: Options.text("url").pipe(Options.withDescription("server, principal or calendar URL")),
    user,
    passwordFile,
    json
  },
  (args) =>
    Effect.gen(function* () {
      const client = yield* clientFor({ ...args, label: args.url })
      const found = yield* client.discover(args.url)
      if (args.json) return yield* Output.printJson(found)
      const rows = found.calendars.map((c) => [
        Output.orDash(c.displayName),
        c.url,
        c.components.join(","),
        Output.orDash(c.ctag),
        c.privileges.join(",")
      ])
      yield* Effect.sync(() =>
        process.stdout.write(`principal  ${found.principal}\nhome       ${found.home}\n\n`)
      )
      yield* Effect.sync(() =>
        process.stdout.write(`${Output.table(["name", "url", "components", "ctag", "privileges"], rows)}\n`)
      )
    })
).pipe(Command.withDescription("find the principal, calendar home and event calendars of an account"))

const changes = Command.make(
  "changes",
  {
    calendar: Options.text("calendar").pipe(Options.withDescription("calendar collection URL")),
    since: Options.text("since").pipe(
      Options.withDescription("sync token from an earlier run"),
      Options.optional
    ),
    user,
    passwordFile,
    json
  },
  (args) =>
    Effect.gen(function* () {
      const client = yield* clientFor({ ...args, label: args.calendar })
      const state = yield* client.collectionState(args.calendar)
      const delta = yield* client.syncCollection(args.calendar, args.since)
      if (args.json)
        return yield* Output.printJson({ ctag: state.ctag, syncToken: state.syncToken, ...delta })
      const rows = [
        ...delta.changed.map((c) => ["changed", c.href, c.etag]),
        ...delta.deleted.map((href) => ["deleted", href, ""])
      ]
      yield* Effect.sync(() =>
        process.stdout.write(
          `ctag   ${Output.orDash(state.ctag)}\ntoken  ${delta.token}\n\n${Output.table(["change", "href", "etag"], rows)}\n`
        )
      )
    })
).pipe(
  Command.withDescription("the calendar's ctag and its changes since a sync token (every item without one)")
)

const get = Command.make(
  "get",
  {
    href: Options.text("href").pipe(Options.withDescription("URL of one calendar object")),
    user,
    passwordFile
  },
  (args) =>
    Effect.gen(function* () {
      const client = yield* clientFor({ ...args, label: args.href })
      const item = yield* client.get(args.href)
      yield* Effect.sync(() => process.stdout.write(item.data.endsWith("\n") ? item.data : `${item.data}\n`))
    })
).pipe(Command.withDescription("print the iCalendar text of one calendar object"))

export const command = Command.make("caldav").pipe(
  Command.withDescription("talk to one CalDAV server directly, for debugging"),
  Command.withSubcommands([discover, changes, get])
)

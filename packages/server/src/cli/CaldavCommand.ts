import { CalDavClient } from "@almanac/caldav"
import { Effect, Option } from "effect"
import type * as Cli from "./Cli.js"
import * as Output from "./Output.js"
import * as Password from "./Password.js"
import * as RequestTimeout from "./RequestTimeout.js"

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
    return yield* CalDavClient.make({ auth, timeout: yield* RequestTimeout.fromEnv() })
  })

export const discover = (args: Cli.DiscoverArgs) =>
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

export const changes = (args: Cli.ChangesArgs) =>
  Effect.gen(function* () {
    const client = yield* clientFor({ ...args, label: args.calendar })
    const state = yield* client.collectionState(args.calendar)
    const delta = yield* client.syncCollection(args.calendar, args.since)
    if (args.json) return yield* Output.printJson({ ctag: state.ctag, syncToken: state.syncToken, ...delta })
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

export const get = (args: Cli.GetArgs) =>
  Effect.gen(function* () {
    const client = yield* clientFor({ ...args, label: args.href })
    const item = yield* client.get(args.href)
    yield* Effect.sync(() => process.stdout.write(item.data.endsWith("\n") ? item.data : `${item.data}\n`))
  })

/**
 * `almanac serve` (and `npm start`): configuration from the environment and flags, then the
 * server until SIGTERM/SIGINT. Logs are structured (logfmt, or JSON with ALMANAC_LOG_FORMAT=json).
 */
import { Command, Options } from "@effect/cli"
import { Cause, Console, Effect, Either, Layer } from "effect"
import * as Config from "../Config.js"
import * as Server from "../Server.js"
import { CliError } from "./CliError.js"
import * as StartFailure from "./StartFailure.js"

export const flags = {
  host: Options.text("host").pipe(
    Options.withDescription("address to listen on (ALMANAC_HOST, default 127.0.0.1)"),
    Options.optional
  ),
  port: Options.integer("port").pipe(
    Options.withDescription("port to listen on (ALMANAC_PORT, default 8080)"),
    Options.optional
  ),
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription(
      "data folder: SQLite file, generated master key (ALMANAC_DATA_DIR, default ./data)"
    ),
    Options.optional
  ),
  pollInterval: Options.text("poll-interval").pipe(
    Options.withDescription(
      "time between polls of a calendar, jittered (ALMANAC_POLL_INTERVAL, default 10m)"
    ),
    Options.optional
  ),
  allowPrivateUrls: Options.boolean("allow-private-urls").pipe(
    Options.withDescription(
      "let accounts point at loopback/private/link-local addresses (ALMANAC_ALLOW_PRIVATE_URLS)"
    )
  )
}

/** Configuration or one line per problem on stderr. */
export const loadConfig = (flags: Config.Flags) =>
  Effect.gen(function* () {
    const loaded = Config.load(process.env, flags)
    if (Either.isLeft(loaded)) {
      for (const problem of loaded.left.problems) yield* Console.error(`almanac: ${problem}`)
      return yield* new CliError({
        message: `the configuration has ${loaded.left.problems.length} problem(s); nothing was started`
      })
    }
    return loaded.right
  })

export const command = Command.make("serve", flags, (args) =>
  Effect.gen(function* () {
    const config = yield* loadConfig({
      host: args.host,
      port: args.port,
      dataDir: args.dataDir,
      pollInterval: args.pollInterval,
      allowPrivateUrls: args.allowPrivateUrls
    })
    yield* Effect.logInfo(
      `starting on ${config.host}:${config.port}, data in ${config.dataDir}, database ${config.database._tag}`
    )
    return yield* Layer.launch(Server.layer(config)).pipe(
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.interrupt
          : Effect.fail(new CliError({ message: StartFailure.describe(cause, config) }))
      )
    )
  })
).pipe(Command.withDescription("run the server: API, settings pages and the calendar actors"))

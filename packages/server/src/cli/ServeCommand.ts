/**
 * `almanac serve` (and `npm start`): configuration from the environment and flags, then the
 * server until SIGTERM/SIGINT. Logs are structured (logfmt, or JSON with ALMANAC_LOG_FORMAT=json).
 */
import { Cause, Console, Effect, Either, Layer, Option } from "effect"
import * as Config from "../Config.js"
import type * as Cli from "./Cli.js"
import { CliError } from "./CliError.js"
import * as StartFailure from "./StartFailure.js"

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

export const serve = (args: Cli.ServeArgs) =>
  Effect.gen(function* () {
    const config = yield* loadConfig({
      host: args.host,
      port: args.port,
      dataDir: args.dataDir,
      pollInterval: args.pollInterval,
      allowPrivateUrls: args.allowPrivateUrls
    })
    yield* Effect.logInfo(
      `starting on ${config.host}:${config.port}, data in ${config.dataDir}, database ${config.database._tag}${Option.match(config.runner, { onNone: () => "", onSome: (r) => `, one of several runners (runner address ${r.host}:${r.port})` })}`
    )
    // Loaded here, not at the top: user and vault commands share this module's configuration
    // loading and must not pay for the HTTP server and the cluster.
    const Server = yield* Effect.promise(() => import("../Server.js"))
    // SIGTERM/SIGINT interrupt the launch; by the time this logs, the layer is closed: running
    // polls finished, the HTTP server and the database closed. Operators look for this line.
    // Any other way the launch ends is a start failure: one line naming its cause.
    return yield* Layer.launch(Server.layer(config)).pipe(
      Effect.onInterrupt(() => Effect.logInfo("stopped: running polls finished, database closed")),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.interrupt
          : Effect.fail(new CliError({ message: StartFailure.describe(cause, config) }))
      )
    )
  })

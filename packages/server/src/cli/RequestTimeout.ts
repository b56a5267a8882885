/**
 * The commands that talk to calendar servers wait per request as long as ALMANAC_REQUEST_TIMEOUT
 * says, like the server does (30 s when it is not set); a value that is no duration stops the
 * command with one line naming the variable.
 */
import { Duration, Effect, Option } from "effect"
import { parseDuration } from "../Config.js"
import { CliError } from "./CliError.js"

export const variable = "ALMANAC_REQUEST_TIMEOUT"

export const fromEnv = (env: Readonly<Record<string, string | undefined>> = process.env) => {
  const text = env[variable]?.trim() ?? ""
  if (text === "") return Effect.succeed(Duration.seconds(30))
  return Option.match(parseDuration(text), {
    onNone: () =>
      Effect.fail(
        new CliError({ message: `${variable}: ${JSON.stringify(text)} is not a duration (e.g. 30s, 2m)` })
      ),
    onSome: Effect.succeed
  })
}

import { Prompt } from "@effect/cli"
import { FileSystem, type Path, type Terminal } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { CliError } from "./CliError.js"

/**
 * Where a password may come from, in order: an environment variable, a file, a prompt on a
 * terminal. Never argv: a password on the command line is visible to every user of the machine.
 */
export const resolve = (options: {
  readonly user: Option.Option<string>
  readonly envVar: string
  readonly passwordFile: Option.Option<string>
  /** The flag that gives `passwordFile` on this command, for the message when there is no password. */
  readonly fileFlag: string
  readonly label: string
}): Effect.Effect<
  Option.Option<Redacted.Redacted<string>>,
  CliError,
  FileSystem.FileSystem | Path.Path | Terminal.Terminal
> =>
  Effect.gen(function* () {
    const fromEnv = process.env[options.envVar]
    if (fromEnv !== undefined && fromEnv !== "") return Option.some(Redacted.make(fromEnv))
    if (Option.isSome(options.passwordFile)) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(options.passwordFile.value).pipe(
        Effect.mapError(
          () =>
            new CliError({
              message: `cannot read the password file ${options.passwordFile.pipe(Option.getOrElse(() => ""))}`
            })
        )
      )
      return Option.some(Redacted.make(text.replace(/\r?\n$/, "")))
    }
    if (Option.isNone(options.user)) return Option.none()
    if (!process.stdin.isTTY) {
      return yield* new CliError({
        message: `no password for ${options.label} (user ${options.user.value}): set ${options.envVar}, or pass ${options.fileFlag} PATH (a file holding only the password); on a terminal you would be asked`
      })
    }
    const password = yield* Prompt.password({
      message: `Password for ${options.user.value} (${options.label})`
    }).pipe(
      Prompt.run,
      Effect.mapError(() => new CliError({ message: "password prompt cancelled" }))
    )
    return Option.some(password)
  })

import { Command } from "@effect/cli"
import { Effect } from "effect"
import * as Logging from "../Logging.js"
import * as BackupCommand from "./BackupCommand.js"
import * as CaldavCommand from "./CaldavCommand.js"
import { CliError } from "./CliError.js"
import * as FreeBusyCommand from "./FreeBusyCommand.js"
import * as ServeCommand from "./ServeCommand.js"
import * as SyncCommand from "./SyncCommand.js"
import * as UserCommand from "./UserCommand.js"
import * as VaultCommand from "./VaultCommand.js"

export const root = Command.make("almanac").pipe(
  Command.withDescription("Almanac keeps calendars in step: iCloud, CalDAV, Google, Microsoft 365"),
  Command.withSubcommands([
    ServeCommand.command,
    UserCommand.command,
    CaldavCommand.command,
    SyncCommand.command,
    FreeBusyCommand.command,
    VaultCommand.command,
    BackupCommand.command
  ])
)

const app = Command.run(root, { name: "almanac", version: "0.1.0" })

/**
 * Every command logs to stderr: stdout is for what the command prints (one JSON document with
 * --json). A defect still ends in one line that says what broke, never a silent exit.
 */
export const run = (argv: ReadonlyArray<string>) =>
  app(argv).pipe(
    Effect.catchAllDefect((defect) =>
      Effect.fail(
        new CliError({
          message: `internal error: ${(defect instanceof Error ? defect.message : String(defect)).split("\n")[0]}`
        })
      )
    ),
    Effect.provide(Logging.layer(process.env))
  )

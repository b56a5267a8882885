import { Command } from "@effect/cli"
import { Effect } from "effect"
import * as Logging from "../Logging.js"
import * as BackupCommand from "./BackupCommand.js"
import * as CaldavCommand from "./CaldavCommand.js"
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

/** Every command logs to stderr: stdout is for what the command prints (one JSON document with --json). */
export const run = (argv: ReadonlyArray<string>) => app(argv).pipe(Effect.provide(Logging.layer(process.env)))

/**
 * `almanac backup FILE`: a consistent copy of the SQLite database, while the server runs or not.
 * The copy holds everything but the master key, which the command reminds a person to keep too.
 */
import { join } from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect } from "effect"
import * as Backup from "../Backup.js"
import * as Config from "../Config.js"
import { keyFileName } from "../Vault.js"
import { CliError } from "./CliError.js"
import { flags, loadConfig } from "./ServeCommand.js"

export const command = Command.make(
  "backup",
  {
    file: Args.text({ name: "FILE" }).pipe(Args.withDescription("where to write the copy")),
    force: Options.boolean("force").pipe(Options.withDescription("replace FILE if it exists")),
    dataDir: flags.dataDir
  },
  (args) =>
    Effect.gen(function* () {
      const config = yield* loadConfig({ ...Config.noFlags, dataDir: args.dataDir })
      const report = yield* Backup.run(config.database, args.file, { force: args.force }).pipe(
        Effect.mapError((e) => new CliError({ message: Backup.describe(e) }))
      )
      yield* Console.log(`copied ${report.source} (${report.pages} pages) to ${report.destination}`)
      yield* Console.log(
        config.masterKey._tag === "Some"
          ? "the copy's stored passwords open with ALMANAC_MASTER_KEY: keep that key as safely as the copy"
          : `the copy's stored passwords open with the master key in ${join(config.dataDir, keyFileName)}: back that file up too`
      )
    })
).pipe(
  Command.withDescription(
    "write a consistent copy of the SQLite database to FILE, also while the server runs (SQL Server and PostgreSQL: use their own backup tools)"
  )
)

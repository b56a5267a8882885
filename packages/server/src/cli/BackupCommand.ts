/**
 * `almanac backup FILE`: a consistent copy of the SQLite database, while the server runs or not.
 * The copy holds everything but the master key, which the command reminds a person to keep too.
 */
import { join } from "node:path"
import { Console, Effect } from "effect"
import * as Backup from "../Backup.js"
import * as Config from "../Config.js"
import { keyFileName } from "../Vault.js"
import type * as Cli from "./Cli.js"
import { CliError } from "./CliError.js"
import { loadConfig } from "./ServeCommand.js"

export const backup = (args: Cli.BackupArgs) =>
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

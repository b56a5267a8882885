/**
 * The command line: every command's options and help, and nothing else. What a command does lives
 * in its own module (ServeCommand, SyncCommand, …), loaded with `import()` when that command runs,
 * so `almanac --help` or a usage error loads only @effect/cli, and `sync once` never loads the HTTP
 * server, the cluster or the SQL Server and PostgreSQL drivers. Keep it that way: import handler
 * modules here only through `run`, and only types from them.
 */
import { Args, Command, type CommandDescriptor as Descriptor, Options } from "@effect/cli"
import { Effect } from "effect"
import * as Logging from "../Logging.js"
import { CliError } from "./CliError.js"

/** Loads a handler module, then runs `f` with it. */
const load = <M, A, E, R>(
  module: () => Promise<M>,
  f: (m: M) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | CliError, R> =>
  Effect.tryPromise({
    try: module,
    catch: (e) => new CliError({ message: `cannot load this command (a broken build?): ${String(e)}` })
  }).pipe(Effect.flatMap(f))

/**
 * The commands that talk to calendar servers get an HTTP client on Node's own http module, loaded
 * with them: loading undici (the server's client) took a short command longer than its requests.
 */
const withHttp = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  load(
    () => import("@effect/platform-node/NodeHttpClient"),
    (m) => Effect.provide(effect, m.layer)
  )

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document"))

// serve, user, vault

export const serveFlags = {
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
export type ServeArgs = Command.Command.ParseConfig<typeof serveFlags>

const serve = Command.make("serve", serveFlags, (args) =>
  load(
    () => import("./ServeCommand.js"),
    (m) => m.serve(args)
  )
).pipe(Command.withDescription("run the server: API, settings pages and the calendar actors"))

const dataDir = serveFlags.dataDir

export const userCreateOptions = { name: Args.text({ name: "name" }), dataDir, json }
export type UserCreateArgs = Command.Command.ParseConfig<typeof userCreateOptions>
export const userTokenOptions = {
  userId: Args.text({ name: "user-id" }),
  label: Options.text("label").pipe(Options.withDefault("")),
  dataDir
}
export type UserTokenArgs = Command.Command.ParseConfig<typeof userTokenOptions>

const userCreate = Command.make("create", userCreateOptions, (args) =>
  load(
    () => import("./UserCommand.js"),
    (m) => m.create(args)
  )
).pipe(Command.withDescription("create a user and print its first API token"))
const userToken = Command.make("token", userTokenOptions, (args) =>
  load(
    () => import("./UserCommand.js"),
    (m) => m.token(args)
  )
).pipe(Command.withDescription("issue another API token for a user"))
const userList = Command.make("list", { dataDir }, (args) =>
  load(
    () => import("./UserCommand.js"),
    (m) => m.list(args)
  )
).pipe(Command.withDescription("list users"))
const user = Command.make("user").pipe(
  Command.withDescription("people and their API tokens"),
  Command.withSubcommands([userCreate, userToken, userList])
)

const vaultRotate = Command.make("rotate", { dataDir }, (args) =>
  load(
    () => import("./VaultCommand.js"),
    (m) => m.rotate(args)
  )
).pipe(
  Command.withDescription(
    "seal every stored password again under a new master key (with ALMANAC_MASTER_KEY: the configured key; keep the old one in ALMANAC_PREVIOUS_MASTER_KEYS while this runs)"
  )
)
const vault = Command.make("vault").pipe(
  Command.withDescription("the credential vault"),
  Command.withSubcommands([vaultRotate])
)

// caldav, freebusy: one account, password from ALMANAC_PASSWORD, a file or a prompt

const passwordHelp = "Password: ALMANAC_PASSWORD, else --password-file, else a prompt on a terminal."
const basicUser = Options.text("user").pipe(
  Options.withDescription("user name for Basic auth"),
  Options.optional
)
const passwordFile = Options.file("password-file").pipe(
  Options.withDescription("read the password from this file (else ALMANAC_PASSWORD, else a prompt)"),
  Options.optional
)

export const discoverOptions = {
  url: Options.text("url").pipe(Options.withDescription("server, principal or calendar URL")),
  user: basicUser,
  passwordFile,
  json
}
export type DiscoverArgs = Command.Command.ParseConfig<typeof discoverOptions>
export const changesOptions = {
  calendar: Options.text("calendar").pipe(Options.withDescription("calendar collection URL")),
  since: Options.text("since").pipe(
    Options.withDescription("sync token from an earlier run"),
    Options.optional
  ),
  user: basicUser,
  passwordFile,
  json
}
export type ChangesArgs = Command.Command.ParseConfig<typeof changesOptions>
export const getOptions = {
  href: Options.text("href").pipe(Options.withDescription("URL of one calendar object")),
  user: basicUser,
  passwordFile
}
export type GetArgs = Command.Command.ParseConfig<typeof getOptions>

const discover = Command.make("discover", discoverOptions, (args) =>
  withHttp(
    load(
      () => import("./CaldavCommand.js"),
      (m) => m.discover(args)
    )
  )
).pipe(
  Command.withDescription(
    `find the principal, calendar home and event calendars of an account. ${passwordHelp}`
  )
)
const changes = Command.make("changes", changesOptions, (args) =>
  withHttp(
    load(
      () => import("./CaldavCommand.js"),
      (m) => m.changes(args)
    )
  )
).pipe(
  Command.withDescription(
    `the calendar's ctag and its changes since a sync token (every item without one). ${passwordHelp}`
  )
)
const get = Command.make("get", getOptions, (args) =>
  withHttp(
    load(
      () => import("./CaldavCommand.js"),
      (m) => m.get(args)
    )
  )
).pipe(Command.withDescription(`print the iCalendar text of one calendar object. ${passwordHelp}`))
const caldav = Command.make("caldav").pipe(
  Command.withDescription("talk to one CalDAV server directly, for debugging"),
  Command.withSubcommands([discover, changes, get])
)

const instant = (name: string) =>
  Options.text(name).pipe(
    Options.withDescription(`${name} of the window, ISO 8601 (e.g. 2026-11-23T00:00:00Z)`)
  )

export const freeBusyOptions = {
  calendar: Options.text("calendar").pipe(
    Options.withDescription("calendar URL (repeat for several)"),
    Options.repeated
  ),
  user: basicUser,
  passwordFile,
  start: instant("start"),
  end: instant("end"),
  zone: Options.text("zone").pipe(
    Options.withDescription(
      "the zone where all-day and floating events fall, e.g. Europe/Berlin (default UTC)"
    ),
    Options.withDefault("UTC")
  ),
  json
}
export type FreeBusyArgs = Command.Command.ParseConfig<typeof freeBusyOptions>

const freebusy = Command.make("freebusy", freeBusyOptions, (args) =>
  withHttp(
    load(
      () => import("./FreeBusyCommand.js"),
      (m) => m.freebusy(args)
    )
  )
).pipe(Command.withDescription(`busy intervals (UTC) across calendars for a time range. ${passwordHelp}`))

// sync: two accounts, two passwords

const syncPasswordHelp =
  "Passwords: ALMANAC_FROM_PASSWORD, else --from-password-file, for the source; ALMANAC_TO_PASSWORD, else --to-password-file, for the target; else a prompt on a terminal."

export const syncOptions = {
  from: Options.text("from").pipe(Options.withDescription("source calendar URL")),
  fromUser: Options.text("from-user").pipe(Options.withDescription("user at the source"), Options.optional),
  to: Options.text("to").pipe(Options.withDescription("target calendar URL")),
  toUser: Options.text("to-user").pipe(Options.withDescription("user at the target"), Options.optional),
  fromPasswordFile: Options.file("from-password-file").pipe(
    Options.withDescription(
      "read the source's password from this file (else ALMANAC_FROM_PASSWORD, else a prompt)"
    ),
    Options.optional
  ),
  toPasswordFile: Options.file("to-password-file").pipe(
    Options.withDescription(
      "read the target's password from this file (else ALMANAC_TO_PASSWORD, else a prompt)"
    ),
    Options.optional
  ),
  twoWay: Options.boolean("two-way").pipe(
    Options.withDescription("each side's own events appear on the other")
  ),
  private: Options.boolean("private").pipe(
    Options.withDescription("copies are plain Busy blocks: no title, description, location or attendees")
  ),
  state: Options.file("state").pipe(
    Options.withDescription(
      "SQLite state file (default: cli-sync.db in ALMANAC_DATA_DIR or ./data, apart from the server's database)"
    ),
    Options.optional
  ),
  daysBack: Options.integer("days-back").pipe(
    Options.withDescription("sync window: copy events from this many days ago on (default: no window)"),
    Options.optional
  ),
  daysAhead: Options.integer("days-ahead").pipe(
    Options.withDescription("sync window: copy events up to this many days ahead (default: no window)"),
    Options.optional
  ),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("print the plan; write nothing")),
  confirmDeletes: Options.boolean("confirm-deletes").pipe(
    Options.withDescription("let through a mass deletion that the safety stop halted")
  ),
  json
}
export type SyncArgs = Command.Command.ParseConfig<typeof syncOptions>

export const syncWatchOptions = {
  ...syncOptions,
  interval: Options.integer("interval").pipe(
    Options.withDescription("seconds between polls (jittered); default 600"),
    Options.withDefault(600)
  )
}
export type SyncWatchArgs = Command.Command.ParseConfig<typeof syncWatchOptions>

const syncOnce = Command.make("once", syncOptions, (args) =>
  withHttp(
    load(
      () => import("./SyncCommand.js"),
      (m) => m.once(args)
    )
  )
).pipe(Command.withDescription(`sync two CalDAV calendars once and print what was done. ${syncPasswordHelp}`))
const syncWatch = Command.make("watch", syncWatchOptions, (args) =>
  withHttp(
    load(
      () => import("./SyncCommand.js"),
      (m) => m.watch(args)
    )
  )
).pipe(
  Command.withDescription(
    `keep two CalDAV calendars in step until interrupted, one line per poll. ${syncPasswordHelp}`
  )
)
const sync = Command.make("sync").pipe(
  Command.withDescription("keep calendars in step"),
  Command.withSubcommands([syncOnce, syncWatch])
)

// backup

export const backupOptions = {
  file: Args.text({ name: "FILE" }).pipe(Args.withDescription("where to write the copy")),
  force: Options.boolean("force").pipe(Options.withDescription("replace FILE if it exists")),
  dataDir
}
export type BackupArgs = Command.Command.ParseConfig<typeof backupOptions>

const backup = Command.make("backup", backupOptions, (args) =>
  load(
    () => import("./BackupCommand.js"),
    (m) => m.backup(args)
  )
).pipe(
  Command.withDescription(
    "write a consistent copy of the SQLite database to FILE, also while the server runs (SQL Server and PostgreSQL: use their own backup tools)"
  )
)

export const root = Command.make("almanac").pipe(
  Command.withDescription("Almanac keeps calendars in step: iCloud and CalDAV servers, one way or both ways"),
  Command.withSubcommands([serve, user, caldav, sync, freebusy, vault, backup])
)

/**
 * Every command by its path, for help: @effect/cli prints a subcommand's usage without its parents
 * (`$ once …`), so Help renders it from here as `$ almanac sync once …`.
 */
export const byPath: ReadonlyMap<string, Descriptor.Command<unknown>> = new Map<
  string,
  Descriptor.Command<unknown>
>([
  ["", root.descriptor],
  ["serve", serve.descriptor],
  ["user", user.descriptor],
  ["user create", userCreate.descriptor],
  ["user token", userToken.descriptor],
  ["user list", userList.descriptor],
  ["caldav", caldav.descriptor],
  ["caldav discover", discover.descriptor],
  ["caldav changes", changes.descriptor],
  ["caldav get", get.descriptor],
  ["sync", sync.descriptor],
  ["sync once", syncOnce.descriptor],
  ["sync watch", syncWatch.descriptor],
  ["freebusy", freebusy.descriptor],
  ["vault", vault.descriptor],
  ["vault rotate", vaultRotate.descriptor],
  ["backup", backup.descriptor]
])

export const name = "almanac"
export const version = "0.1.0"

const app = Command.run(root, { name, version })

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

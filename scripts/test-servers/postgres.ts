/**
 * A throwaway PostgreSQL (Debian's `postgresql` package) for the tests that need one: `initdb` into a
 * temporary folder, the server on a free loopback port with its socket in that folder, trust
 * authentication on loopback only, durability off (fsync, synchronous commit: nothing here needs to
 * survive a crash). Started by the test file that asks for it, not by the global setup, so the rest of
 * the suite never waits for it. `stop` shuts it down (fast shutdown) and deletes the folder.
 *
 * PostgreSQL refuses to run as root. As root (the test machines) initdb and the server run as the
 * `postgres` user the Debian package creates, through `setpriv --reuid --regid --init-groups`, which
 * execs the server in place: the child process is the postmaster itself, so a signal reaches it.
 * As any other user they run as that user.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./servers.js"

export interface RunningPostgres {
  readonly port: number
  /** A connection URL for `database` (default `postgres`, always there). */
  readonly url: (database?: string) => string
  /** Creates an empty database and returns its URL. */
  readonly createDatabase: (name: string) => string
  /** Runs one SQL command in `database` with psql and returns what it printed (throws on failure). */
  readonly run: (database: string, command: string) => string
  readonly stop: () => Promise<void>
}

const user = "almanac"

/** The newest installed PostgreSQL's bin folder (/usr/lib/postgresql/<version>/bin), if any. */
export const postgresBinDir = (): string | undefined => {
  const base = "/usr/lib/postgresql"
  if (!existsSync(base)) return undefined
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(base, versions[0], "bin")
}

const idOf = (flag: "-u" | "-g", name: string): number | undefined => {
  const res = spawnSync("id", [flag, name], { encoding: "utf8" })
  return res.status === 0 ? Number(res.stdout.trim()) : undefined
}

export const startPostgres = async (): Promise<RunningPostgres> => {
  const bin = postgresBinDir()
  if (bin === undefined)
    throw new Error(
      "PostgreSQL is not installed (Debian package: postgresql; scripts/test-servers/ensure-packages.sh installs it)"
    )
  const asRoot = process.getuid?.() === 0
  // As root: run as the postgres user, the folder its own.
  const owner = asRoot ? { uid: idOf("-u", "postgres"), gid: idOf("-g", "postgres") } : undefined
  if (owner !== undefined && (owner.uid === undefined || owner.gid === undefined))
    throw new Error(
      "running as root, and there is no postgres user to run PostgreSQL as (PostgreSQL refuses root)"
    )
  const as = (command: string, args: ReadonlyArray<string>): [string, ReadonlyArray<string>] =>
    asRoot
      ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args]]
      : [command, args]

  const dir = mkdtempSync(join(tmpdir(), "almanac-postgres-"))
  const data = join(dir, "data")
  if (owner?.uid !== undefined && owner.gid !== undefined) chownSync(dir, owner.uid, owner.gid)
  const fail = (what: string, detail: string): never => {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`PostgreSQL could not be started: ${what}: ${detail.slice(-2000)}`)
  }
  const [initCmd, initArgs] = as(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    user,
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions"
  ])
  const init = spawnSync(initCmd, [...initArgs], { encoding: "utf8" })
  if (init.status !== 0) fail("initdb", `${init.stdout}${init.stderr}${init.error?.message ?? ""}`)

  const port = await freePort()
  const [cmd, args] = as(join(bin, "postgres"), [
    "-D",
    data,
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200"
  ])
  let out = ""
  const child: ChildProcess = spawn(cmd, [...args], { stdio: ["ignore", "pipe", "pipe"] })
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const exited = new Promise<void>((r) => child.once("exit", () => r()))

  const psql = (database: string, command: string) =>
    spawnSync(
      join(bin, "psql"),
      ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database, "-Xqc", command],
      {
        encoding: "utf8"
      }
    )
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) fail("the server exited", out)
    const ready = spawnSync(join(bin, "pg_isready"), [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-U",
      user,
      "-q"
    ])
    if (ready.status === 0) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      fail("no answer within 30 s", out)
    }
    await new Promise((r) => setTimeout(r, 100))
  }

  const url = (database = "postgres") => `postgres://${user}@127.0.0.1:${port}/${database}`
  return {
    port,
    url,
    createDatabase: (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
      const res = psql("postgres", `CREATE DATABASE ${name}`)
      if (res.status !== 0) throw new Error(`CREATE DATABASE ${name} failed: ${res.stderr}`)
      return url(name)
    },
    run: (database, command) => {
      const res = psql(database, command)
      if (res.status !== 0) throw new Error(`psql failed: ${res.stderr}`)
      return res.stdout
    },
    stop: async () => {
      if (child.exitCode === null) {
        // Fast shutdown: clients are disconnected rather than waited for.
        child.kill("SIGINT")
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

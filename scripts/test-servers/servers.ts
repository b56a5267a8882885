/**
 * Starts real CalDAV servers (Xandikos and Radicale, from Debian) on free loopback ports with
 * throwaway data folders, and stops only what it started. Used by vitest's global setup and
 * by the benchmark.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export type ServerName = "xandikos" | "radicale"

export interface RunningServer {
  readonly name: ServerName
  /** Base URL, ending in "/" */
  readonly url: string
  /** URL of the calendar home of the test user, ending in "/" */
  readonly home: string
  readonly user: string
  readonly stop: () => Promise<void>
}

/** A port nothing listens on right now, on loopback (the OS picks it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      srv.close(() => resolve(port))
    })
  })

const waitForHttp = async (url: string, child: ChildProcess, output: () => string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`exited with code ${child.exitCode} before answering: ${output().slice(-2000)}`)
    }
    try {
      await fetch(url, { method: "OPTIONS", signal: AbortSignal.timeout(1000) })
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`did not answer on ${url} within ${timeoutMs} ms: ${output().slice(-2000)}`)
}

const missing = (binary: string): boolean => spawnSync("sh", ["-c", `command -v ${binary}`]).status !== 0

/**
 * Installs missing Debian packages as root, or fails with what to install. Xandikos and Radicale
 * always; `extra` adds vdirsyncer (the benchmark) or chromium (the settings-page tests, so the
 * test run's default; the benchmark names its own list and does not pull a browser in).
 */
export const ensurePackages = (extra: ReadonlyArray<"vdirsyncer" | "chromium"> = ["chromium"]): void => {
  const script = new URL("./ensure-packages.sh", import.meta.url).pathname
  const res = spawnSync("bash", [script], {
    stdio: ["ignore", "inherit", "pipe"],
    env: {
      ...process.env,
      ALMANAC_NEED_VDIRSYNCER: extra.includes("vdirsyncer") ? "1" : "0",
      ALMANAC_NEED_CHROMIUM: extra.includes("chromium") ? "1" : "0"
    }
  })
  if (res.status !== 0) {
    throw new Error(
      `${res.stderr.toString().trim()}\nThe tests cannot run without these packages; nothing was skipped.`
    )
  }
}

const launch = async (
  name: ServerName,
  command: string,
  args: (dir: string, port: number) => ReadonlyArray<string>,
  home: (base: string) => string,
  user: string,
  /** Where its data folder goes (the system's temporary folder unless said). */
  parent: string = tmpdir()
): Promise<RunningServer> => {
  if (missing(command)) throw new Error(`${command} is not installed (Debian package: ${name})`)
  const dir = mkdtempSync(join(parent, `almanac-${name}-`))
  const port = await freePort()
  let out = ""
  const child = spawn(command, [...args(dir, port)], { stdio: ["ignore", "pipe", "pipe"], detached: false })
  child.stdout?.on("data", (d: Buffer) => {
    out = (out + d.toString()).slice(-8000)
  })
  child.stderr?.on("data", (d: Buffer) => {
    out = (out + d.toString()).slice(-8000)
  })
  const url = `http://127.0.0.1:${port}/`
  try {
    await waitForHttp(url, child, () => out, 20_000)
  } catch (e) {
    child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`${name} could not be started: ${e instanceof Error ? e.message : String(e)}`)
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()))
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  return { name, url, home: home(url), user, stop }
}

export const startXandikos = (): Promise<RunningServer> =>
  launch(
    "xandikos",
    "xandikos",
    (dir, port) => ["-d", dir, "--defaults", "-l", "127.0.0.1", "-p", String(port)],
    (url) => `${url}user/calendars/`,
    "user"
  )

/**
 * Radicale on loopback. `fsync: false` puts its collections in memory (tmpfs, /dev/shm), where
 * its fsync per write costs nothing: the bench's fast target, bound by Radicale's own work
 * instead of the disk. (Its `_filesystem_fsync` option is not settable from a config file.)
 */
export const startRadicale = (options: { readonly fsync?: boolean } = {}): Promise<RunningServer> =>
  launch(
    "radicale",
    "radicale",
    (dir, port) => [
      "--config",
      "",
      "--server-hosts",
      `127.0.0.1:${port}`,
      "--auth-type",
      "none",
      "--rights-type",
      "owner_only",
      "--storage-filesystem-folder",
      dir
    ],
    (url) => `${url}almanac/`,
    "almanac",
    options.fsync === false ? inMemoryFolder() : tmpdir()
  )

const inMemoryFolder = (): string => {
  if (!existsSync("/dev/shm")) throw new Error("no /dev/shm here: Radicale without fsync needs a tmpfs")
  return "/dev/shm"
}

export const startAll = async (): Promise<ReadonlyArray<RunningServer>> => {
  const started: Array<RunningServer> = []
  try {
    started.push(await startXandikos())
    started.push(await startRadicale())
    return started
  } catch (e) {
    await Promise.all(started.map((s) => s.stop()))
    throw e
  }
}

export interface RadicaleWithAuth extends RunningServer {
  /** Replaces the users and passwords Radicale accepts; it reads the file again at each login. */
  readonly setUsers: (users: Readonly<Record<string, string>>) => void
}

/**
 * A Radicale of its own that checks passwords (htpasswd, plain text), for tests of refused and
 * changed credentials; the shared test servers accept any password. The home is the first user's.
 */
export const startRadicaleWithAuth = async (
  users: Readonly<Record<string, string>>
): Promise<RadicaleWithAuth> => {
  const dir = mkdtempSync(join(tmpdir(), "almanac-radicale-users-"))
  const file = join(dir, "users")
  const setUsers = (next: Readonly<Record<string, string>>) =>
    writeFileSync(
      file,
      Object.entries(next)
        .map(([user, password]) => `${user}:${password}\n`)
        .join(""),
      {
        mode: 0o600
      }
    )
  setUsers(users)
  const user = Object.keys(users)[0] ?? "almanac"
  try {
    const server = await launch(
      "radicale",
      "radicale",
      (data, port) => [
        "--config",
        "",
        "--server-hosts",
        `127.0.0.1:${port}`,
        "--auth-type",
        "htpasswd",
        "--auth-htpasswd-filename",
        file,
        "--auth-htpasswd-encryption",
        "plain",
        "--rights-type",
        "owner_only",
        "--storage-filesystem-folder",
        data
      ],
      (url) => `${url}${user}/`,
      user
    )
    return {
      ...server,
      setUsers,
      stop: async () => {
        await server.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { almanac, start } from "./support/cli.js"

/** Runs `almanac serve` and notes how long it lived after its first log line (the start proper). */
const serveUntilExit = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; afterStart: number }>(
    (resolve, reject) => {
      const child = start(["serve"], env)
      let stdout = ""
      let stderr = ""
      let started: number | undefined
      child.stdout?.on("data", (d: Buffer) => {
        stdout += d.toString()
      })
      child.stderr?.on("data", (d: Buffer) => {
        started ??= Date.now()
        stderr += d.toString()
      })
      // Not at once: a server that stays up is killed here and fails the test on its exit code.
      const guard = setTimeout(() => child.kill("SIGKILL"), 25_000)
      child.on("error", reject)
      child.on("close", (code) => {
        clearTimeout(guard)
        resolve({ code, stdout, stderr, afterStart: Date.now() - (started ?? Date.now()) })
      })
    }
  )

/** The lines of stderr that are the CLI's own words (log lines are logfmt and start with timestamp=). */
const ownLines = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("almanac: "))

describe("almanac serve and user, from the command line", () => {
  it("refuses to start on bad configuration with one line per problem", async () => {
    const result = await almanac(["serve"], {
      ALMANAC_PORT: "http",
      ALMANAC_POLL_INTERVAL: "often",
      ALMANAC_MASTER_KEY: "hunter2-hunter2",
      ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-badconfig-"))
    })
    expect(result.code).not.toBe(0)
    const lines = result.stderr.trim().split("\n")
    expect(lines.filter((l) => l.startsWith("almanac: ALMANAC_"))).toHaveLength(3)
    expect(lines.at(-1)).toContain("nothing was started")
    expect(result.stderr).not.toContain("hunter2")
  }, 30_000)

  it("on a port already in use, names the address and exits at once", async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    const address = holder.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const result = await serveUntilExit({
        ALMANAC_PORT: String(port),
        ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-port-"))
      })
      expect(result.code).toBe(1)
      expect(ownLines(result.stderr)).toEqual([
        `almanac: 127.0.0.1:${port} is already in use (another almanac, or set ALMANAC_PORT / --port)`
      ])
      expect(result.stdout).toBe("")
      // From its first log line to its exit: no retrying, no hanging on.
      expect(result.afterStart).toBeLessThan(5_000)
    } finally {
      holder.close()
    }
  }, 30_000)

  it("a database that cannot be opened or a data folder that cannot be made: one line naming the cause", async () => {
    const garbage = mkdtempSync(join(tmpdir(), "almanac-garbage-"))
    writeFileSync(join(garbage, "almanac.db"), Buffer.alloc(8192, 7))
    const notDb = await serveUntilExit({ ALMANAC_PORT: "0", ALMANAC_DATA_DIR: garbage })
    expect(notDb.code).toBe(1)
    expect(ownLines(notDb.stderr)).toEqual([
      `almanac: cannot start: cannot open the SQLite database ${join(garbage, "almanac.db")}: file is not a database`
    ])

    const file = join(mkdtempSync(join(tmpdir(), "almanac-file-")), "a-file")
    writeFileSync(file, "not a folder")
    const noDir = await serveUntilExit({ ALMANAC_PORT: "0", ALMANAC_DATA_DIR: join(file, "data") })
    expect(noDir.code).toBe(1)
    const [line = "", ...more] = ownLines(noDir.stderr)
    expect(more).toEqual([])
    expect(line).toContain(`cannot create the data folder ${join(file, "data")}`)
    expect(line).toContain("ENOTDIR")
  }, 60_000)

  it("creates a user and prints its token once; the user is listed", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "almanac-user-"))
    const created = await almanac(["user", "create", "Ann", "--json"], { ALMANAC_DATA_DIR: dataDir })
    expect(created.code).toBe(0)
    const user = JSON.parse(created.stdout) as { id: string; name: string; token: string }
    expect(user.name).toBe("Ann")
    expect(user.token).toMatch(/^alm_[A-Za-z0-9_-]{43}$/)
    const listed = await almanac(["user", "list"], { ALMANAC_DATA_DIR: dataDir })
    expect(listed.stdout).toContain(user.id)
    expect(listed.stdout).not.toContain(user.token)
    const another = await almanac(["user", "token", user.id], { ALMANAC_DATA_DIR: dataDir })
    expect(another.stdout.trim()).toMatch(/^alm_/)
    expect(another.stdout.trim()).not.toBe(user.token)
  }, 60_000)
})

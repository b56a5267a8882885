import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { almanac } from "./support/cli.js"

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

/**
 * The program as it is shipped: the bundle in packages/server/dist (built by the global setup, as
 * `npm ci` builds it), what each command loads at start, `--help` as a pipe reads it, and `npm start`
 * stopping cleanly when a service manager sends SIGTERM to npm.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { type AddressInfo, createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as Cli from "../src/cli/Cli.js"
import { almanac, start } from "./support/cli.js"

const repo = fileURLToPath(new URL("../../..", import.meta.url))
const dist = join(repo, "packages/server/dist")

interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly inputs: Record<string, unknown>
      readonly imports: ReadonlyArray<{
        readonly path: string
        readonly kind: string
        readonly external?: boolean
      }>
    }
  >
}

/** Every input and external package that loading `start` loads before any dynamic import() runs. */
const loadedAtStart = (meta: Metafile, start: string) => {
  const seen = new Set<string>()
  const inputs = new Set<string>()
  const externals = new Set<string>()
  const queue = [start]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    const output = meta.outputs[file]
    if (seen.has(file) || output === undefined) continue
    seen.add(file)
    for (const input of Object.keys(output.inputs)) inputs.add(input)
    for (const i of output.imports) {
      if (i.kind !== "import-statement") continue
      if (i.external === true) externals.add(i.path)
      else queue.push(i.path)
    }
  }
  return { inputs: [...inputs], externals: [...externals] }
}

const chunkOf = (meta: Metafile, source: string): string => {
  const found = Object.keys(meta.outputs).find(
    (file) => file.endsWith(".js") && Object.keys(meta.outputs[file]?.inputs ?? {}).includes(source)
  )
  if (found === undefined) throw new Error(`no output holds ${source}`)
  return found
}

const heavy = [
  /@effect\/sql-mssql|node_modules\/tedious/,
  /@effect\/sql-pg|node_modules\/pg\//,
  /@effect\/cluster|@effect\/workflow/,
  /NodeHttpServer|httpApiScalar|HttpApiBuilder/,
  /playwright/
]

describe("the built program", () => {
  const meta = JSON.parse(readFileSync(join(dist, "meta.json"), "utf8")) as Metafile
  const entry = "packages/server/dist/bin.js"

  it("starts with @effect/cli and the command definitions only: no engine, driver, cluster or HTTP server", () => {
    const start = loadedAtStart(meta, entry)
    expect(start.inputs.some((i) => i.includes("@effect/cli"))).toBe(true)
    for (const pattern of heavy) expect(start.inputs.filter((i) => pattern.test(i))).toEqual([])
    // Neither the engine nor a CalDAV client: `--help` needs none of them.
    expect(start.inputs.filter((i) => /packages\/(core|caldav|providers)\/src|ical\.js/.test(i))).toEqual([])
    // No command's handler either: each loads with import() when it runs.
    const handlers = /cli\/[A-Za-z]+Command\.ts|server\/src\/Backup\.ts/
    expect(start.inputs.filter((i) => handlers.test(i))).toEqual([])
    expect(start.externals.filter((e) => !e.startsWith("node:"))).toEqual([])
  })

  it("loads for sync once only the engine, SQLite and the CalDAV client", () => {
    const start = loadedAtStart(meta, chunkOf(meta, "packages/server/src/cli/SyncCommand.ts"))
    expect(start.inputs).toContain("packages/core/src/SyncCycle.ts")
    for (const pattern of heavy) expect(start.inputs.filter((i) => pattern.test(i))).toEqual([])
    expect(start.externals.filter((e) => !e.startsWith("node:"))).toEqual(["better-sqlite3"])
    // Nor what an idle sync never calls: the Google provider, ical.js and the public suffix list
    // (both load on first use), undici (the CLI's client is node:http).
    const unused = /providers\/src\/Google|oauth4webapi|node_modules\/(ical\.js|tldts|undici)\//
    expect(start.inputs.filter((i) => unused.test(i))).toEqual([])
    const http = loadedAtStart(
      meta,
      chunkOf(meta, "node_modules/@effect/platform-node/dist/esm/NodeHttpClient.js")
    )
    expect(http.externals.filter((e) => !e.startsWith("node:"))).toEqual([])
  })

  it("loads for backup SQLite and its own module, no driver, cluster or HTTP server", () => {
    const start = loadedAtStart(meta, chunkOf(meta, "packages/server/src/cli/BackupCommand.ts"))
    expect(start.inputs).toContain("packages/server/src/Backup.ts")
    for (const pattern of heavy) expect(start.inputs.filter((i) => pattern.test(i))).toEqual([])
    expect(start.externals.filter((e) => !e.startsWith("node:"))).toEqual(["better-sqlite3"])
  })

  it("loads the SQL Server and PostgreSQL drivers only for those databases, even in serve", () => {
    const start = loadedAtStart(meta, chunkOf(meta, "packages/server/src/Server.ts"))
    expect(start.inputs.some((i) => i.includes("@effect/cluster"))).toBe(true)
    expect(start.inputs.filter((i) => /sql-mssql|sql-pg|node_modules\/(tedious|pg)\//.test(i))).toEqual([])
    expect(start.externals).not.toContain("tedious")
    expect(start.externals).not.toContain("pg")
  })

  it("runs on node alone: no TypeScript loader in the bin or the bundle", () => {
    const bin = readFileSync(join(repo, "packages/server/bin/almanac.mjs"), "utf8")
    expect(bin).not.toMatch(/tsx|\.ts"/)
    const externals = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external === true))
    expect(externals.filter((i) => /tsx|esbuild/.test(i.path))).toEqual([])
  })
})

describe("almanac --help", () => {
  const esc = "\u001b"

  it("reads plainly in a pipe: no ANSI codes, the description claims only what works", async () => {
    const res = await almanac(["--help"], { NO_COLOR: "" })
    expect(res.code).toBe(0)
    expect(res.stdout).not.toContain(esc)
    expect(res.stdout).toContain("Almanac keeps calendars in step: iCloud and CalDAV")
    expect(res.stdout).not.toMatch(/Google|Microsoft/)
    for (const command of [
      "serve",
      "user create",
      "caldav discover",
      "sync once",
      "freebusy",
      "vault rotate",
      "backup"
    ])
      expect(res.stdout).toContain(`- ${command}`)
  }, 60_000)

  it("names the whole command in the usage line and the password variables of each command", async () => {
    const once = await almanac(["sync", "once", "--help"], { NO_COLOR: "" })
    expect(once.code).toBe(0)
    expect(once.stdout).not.toContain(esc)
    expect(once.stdout).toContain("$ almanac sync once --from text")
    expect(once.stdout).toContain("ALMANAC_FROM_PASSWORD")
    expect(once.stdout).toContain("ALMANAC_TO_PASSWORD")
    expect(once.stdout).toContain("--from-password-file")
    expect(once.stdout).toContain("--to-password-file")
    const discover = await almanac(["caldav", "discover", "-h"], { NO_COLOR: "" })
    expect(discover.stdout).toContain("$ almanac caldav discover --url text")
    expect(discover.stdout).toContain("ALMANAC_PASSWORD")
    const freebusy = await almanac(["freebusy", "--help"], { NO_COLOR: "" })
    expect(freebusy.stdout).toContain("$ almanac freebusy --calendar text")
    expect(freebusy.stdout).toContain("ALMANAC_PASSWORD")
    const group = await almanac(["user", "--help"], { NO_COLOR: "" })
    expect(group.stdout).toContain("$ almanac user")
    expect(group.stdout).toContain("- create [--data-dir text]")
    const backup = await almanac(["backup", "--help"], { NO_COLOR: "" })
    expect(backup.stdout).toContain("$ almanac backup [--force] [--data-dir text] <FILE>")
  }, 60_000)

  it("prints a usage error on stderr, nothing on stdout, and exits non-zero", async () => {
    const res = await almanac(["sync", "once", "--to", "http://127.0.0.1:9/"], { NO_COLOR: "" })
    expect(res.code).not.toBe(0)
    expect(res.stdout).toBe("")
    expect(res.stderr).toContain("Expected to find option: '--from'")
    expect(res.stderr).not.toContain(esc)
  }, 60_000)
})

/** Runs `file` (the bin or the bundle) on plain node; with `tty`, under a pseudo-terminal (util-linux `script`). */
const runNode = (file: string, args: ReadonlyArray<string>, env: Record<string, string>, tty = false) =>
  new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const command = [process.execPath, file, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
    const child = tty
      ? spawn("script", ["-qec", command, "/dev/null"], {
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "ignore"]
        })
      : spawn(process.execPath, [file, ...args], {
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "ignore"]
        })
    let stdout = ""
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout }))
  })

describe("the help fast path (bin/help.mjs, from dist/help.json)", () => {
  const bin = join(repo, "packages/server/bin/almanac.mjs")
  const bundle = join(dist, "bin.js")
  const same = async (args: ReadonlyArray<string>, env: Record<string, string>, tty = false) => {
    const [fast, full] = [await runNode(bin, args, env, tty), await runNode(bundle, args, env, tty)]
    expect({ args, ...fast }).toEqual({ args, ...full })
    return fast
  }

  it("holds a text for every command, and prints for each what the full program prints", async () => {
    const texts = JSON.parse(readFileSync(join(dist, "help.json"), "utf8")) as {
      commands: Record<string, string>
    }
    expect(Object.keys(texts.commands).sort()).toEqual([...Cli.byPath.keys()].sort())
    for (const path of Cli.byPath.keys()) {
      const words = path === "" ? [] : path.split(" ")
      const res = await same([...words, "--help"], { NO_COLOR: "1" })
      expect(res.code).toBe(0)
      expect(res.stdout).toContain(`$ ${["almanac", ...words].join(" ")}`)
    }
  }, 120_000)

  it("agrees with the full program on -h, --version, flags before the path, -- and unknown words", async () => {
    for (const args of [
      ["-h"],
      ["--version"],
      ["sync", "--help", "once"],
      ["sync", "once", "--from", "x", "-h"],
      ["nosuch", "--help"],
      ["user", "create", "bob", "--help"]
    ])
      expect((await same(args, { NO_COLOR: "1" })).code).toBe(0)
    // After `--` a --help is an argument: both leave it to @effect/cli, which refuses the line.
    const refused = await same(["sync", "once", "--", "--help"], { NO_COLOR: "1" })
    expect(refused.code).not.toBe(0)
  }, 120_000)

  it("keeps the ANSI styling on a terminal, and drops it for NO_COLOR there, as the full program does", async () => {
    const styled = await same(["sync", "once", "--help"], { NO_COLOR: "" }, true)
    expect(styled.stdout).toContain("\u001b[")
    const plain = await same(["sync", "once", "--help"], { NO_COLOR: "1" }, true)
    expect(plain.stdout).not.toContain("\u001b[")
    expect(plain.stdout).toContain("$ almanac sync once")
  }, 60_000)
})

describe("the sync program (dist/sync.cjs, run by bin/sync.mjs with V8's code cache)", () => {
  const program = join(dist, "sync.cjs")
  const cacheOf = () => {
    const st = statSync(program)
    return `${program}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`
  }

  it("holds sync once and sync watch and no other command, driver, cluster or HTTP server", () => {
    const syncMeta = JSON.parse(readFileSync(join(dist, "sync-meta.json"), "utf8")) as Metafile
    const output = syncMeta.outputs["packages/server/dist/sync.cjs"]
    if (output === undefined) throw new Error("sync-meta.json has no dist/sync.cjs")
    // What is left out stands there as a module that throws, saying so.
    const inputs = Object.keys(output.inputs).filter((i) => !i.startsWith("not-in-sync:"))
    expect(Object.keys(output.inputs).filter((i) => i.startsWith("not-in-sync:")).length).toBe(8)
    expect(inputs).toContain("packages/server/src/cli/SyncCommand.ts")
    for (const pattern of heavy) expect(inputs.filter((i) => pattern.test(i))).toEqual([])
    expect(inputs.filter((i) => /cli\/(Serve|User|Vault|Backup|Caldav|FreeBusy)Command\.ts/.test(i))).toEqual(
      []
    )
    const externals = output.imports.filter((i) => i.external === true && !i.path.startsWith("node:"))
    expect([...new Set(externals.map((i) => i.path))]).toEqual(["better-sqlite3"])
  })

  it("says what the bundled program says, makes its cache on a first run, and outlives a cache V8 refuses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "almanac-sync-program-"))
    // Nothing listens on port 9: the command fails at its first request, after loading everything.
    const args = ["sync", "once", "--from", "http://127.0.0.1:9/a/", "--to", "http://127.0.0.1:9/b/"]
    const run = (file: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [file, ...args, "--state", join(dir, "state.db")], {
          env: { ...process.env, NO_COLOR: "1" },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (d: Buffer) => {
          stdout += d.toString()
        })
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString()
        })
        child.on("error", reject)
        child.on("close", (code) => resolve({ code, stdout, stderr }))
      })
    const bin = join(repo, "packages/server/bin/almanac.mjs")
    rmSync(cacheOf(), { force: true })
    const first = await run(bin)
    expect(first.code).not.toBe(0)
    expect(first.stderr).toMatch(/^almanac: /)
    expect(await run(join(dist, "bin.js"))).toEqual(first)
    const made = readFileSync(cacheOf())
    expect(made.length).toBeGreaterThan(100_000)
    // A cache from elsewhere (another Node, a torn file): V8 refuses it, the program runs, the cache is made again.
    writeFileSync(cacheOf(), Buffer.alloc(made.length, 7))
    expect(await run(bin)).toEqual(first)
    expect(readFileSync(cacheOf()).equals(Buffer.alloc(made.length, 7))).toBe(false)
  }, 60_000)
})

describe("libraries the bundle loads on first use (build.mjs `lazy`)", () => {
  it("follows a redirect to another host: the public suffix list loads then, and the password stays behind", async () => {
    const seen: Array<{ path: string; authorized: boolean }> = []
    const server = createServer((req, res) => {
      seen.push({ path: req.url ?? "", authorized: req.headers.authorization !== undefined })
      if (req.url === "/a.ics") {
        res.writeHead(301, { location: `http://localhost:${port}/b.ics` })
        res.end()
      } else {
        res.writeHead(200, { "content-type": "text/calendar", etag: '"1"' })
        res.end("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
      }
    })
    // No host: both 127.0.0.1 and localhost (::1 or 127.0.0.1) reach it.
    await new Promise<void>((resolve) => server.listen(0, resolve))
    const port = (server.address() as AddressInfo).port
    try {
      const res = await almanac(
        ["caldav", "get", "--href", `http://127.0.0.1:${port}/a.ics`, "--user", "u"],
        {
          ALMANAC_PASSWORD: "secret"
        }
      )
      expect(res.stderr).toBe("")
      expect(res.code).toBe(0)
      expect(res.stdout).toContain("BEGIN:VCALENDAR")
      // 127.0.0.1 and localhost are different registrable domains: the answer needed the list.
      expect(seen).toEqual([
        { path: "/a.ics", authorized: true },
        { path: "/b.ics", authorized: false }
      ])
    } finally {
      server.close()
    }
  }, 60_000)

  it("serves with --allow-private-urls, whose HTTP client is undici's, made through the stand-in", async () => {
    const port = await freePort()
    const child = start(["serve", "--allow-private-urls", "--port", String(port)], {
      ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-private-urls-"))
    })
    let output = ""
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      await new Promise<void>((resolve, reject) => {
        const collect = (d: Buffer) => {
          output += d.toString()
          if (output.includes(`Listening on http://127.0.0.1:${port}`)) resolve()
        }
        child.stdout?.on("data", collect)
        child.stderr?.on("data", collect)
        exited.then(() => reject(new Error(`serve exited before listening:\n${output}`)))
      })
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200)
      child.kill("SIGTERM")
      expect(await exited).toBe(0)
    } finally {
      child.kill("SIGKILL")
    }
  }, 60_000)
})

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("npm start", () => {
  it("stops the server cleanly when SIGTERM goes to the npm process", async () => {
    const port = await freePort()
    const child = spawn("npm", ["start"], {
      cwd: repo,
      env: {
        ...process.env,
        ALMANAC_PORT: String(port),
        ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-npm-start-")),
        NO_COLOR: "1"
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that whatever a failure leaves behind can be killed at the end.
      detached: true
    })
    const group = child.pid
    let output = ""
    const listening = new Promise<void>((resolve) => {
      const collect = (d: Buffer) => {
        output += d.toString()
        if (output.includes(`Listening on http://127.0.0.1:${port}`)) resolve()
      }
      child.stdout.on("data", collect)
      child.stderr.on("data", collect)
    })
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      await Promise.race([
        listening,
        exited.then(() => {
          throw new Error(`npm start exited before listening:\n${output}`)
        })
      ])
      // What the bundle loads only when serve runs, as shipped: OpenTelemetry behind /metrics (once
      // bundled wrongly: the server could not start) and Swagger UI's files behind /docs.
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(metrics.status).toBe(200)
      expect(await metrics.text()).toContain('target_info{service_name="almanac"')
      const css = await fetch(`http://127.0.0.1:${port}/docs/swagger-ui.css`)
      expect(css.status).toBe(200)
      expect(css.headers.get("content-type")).toContain("text/css")
      // To npm alone, as `kill PID` or a service manager's stop would.
      child.kill("SIGTERM")
      const code = await Promise.race([
        exited,
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000))
      ])
      expect(code).toBe(0)
      expect(output).toContain("stopped: running polls finished, database closed")
      // npm's child was the server itself, so nothing is left behind listening.
      expect(await refusesConnections(port)).toBe(true)
    } finally {
      if (group !== undefined) {
        try {
          process.kill(-group, "SIGKILL")
        } catch {
          // the group is gone: nothing was left behind
        }
      }
    }
  }, 180_000)
})

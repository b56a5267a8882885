/**
 * The whole server in the test process, on a free loopback port with a fresh data folder: the
 * same layer `almanac serve` runs, so API tests go through real HTTP, the real database and the
 * real vault. Loopback URLs are allowed (the test CalDAV servers live there).
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HttpServer } from "@effect/platform"
import { Context, Effect, Either, Layer, Logger, LogLevel, type Scope } from "effect"
import * as Config from "../../src/Config.js"
import * as Server from "../../src/Server.js"

export interface TestServer {
  readonly url: string
  readonly dataDir: string
  readonly adminToken: string
  readonly config: Config.ServerConfig
  /** Every message the server logged at Info or above, in order (Warning and above also print). */
  readonly logs: ReadonlyArray<string>
  /** A JSON request; `token` becomes a bearer header. Returns the status and the parsed body. */
  readonly request: (
    method: string,
    path: string,
    options?: { readonly token?: string; readonly body?: unknown; readonly headers?: Record<string, string> }
  ) => Promise<{ readonly status: number; readonly body: unknown }>
  /** A new user and its first token, through the admin API. */
  readonly createUser: (name: string) => Promise<{ readonly id: string; readonly token: string }>
  /** Signs in on the pages with `token` (POST /login) and gives the `Cookie` header of that session. */
  readonly sessionCookie: (token: string) => Promise<string>
}

/** What the running server provides: its stores, vault, database and HTTP server. */
export type Services = Layer.Layer.Success<ReturnType<typeof Server.layer>>

const contexts = new WeakMap<TestServer, Context.Context<Services>>()

/**
 * Runs an effect inside a running server's services (stores, vault, database): for setting up
 * what the API cannot make and for checking what the server stored.
 */
export const within = <A, E>(
  server: TestServer,
  effect: Effect.Effect<A, E, Services>
): Effect.Effect<A, E> => {
  const context = contexts.get(server)
  return context === undefined ? Effect.die("not a running TestServer") : Effect.provide(effect, context)
}

export const start = (
  env: Record<string, string> = {},
  /** Collects every log line (logfmt, from level Info) instead of showing warnings only. */
  options: { readonly logs?: Array<string> } = {}
): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const dataDir = env.ALMANAC_DATA_DIR ?? mkdtempSync(join(tmpdir(), "almanac-server-"))
    const adminToken = env.ALMANAC_ADMIN_TOKEN ?? randomBytes(24).toString("hex")
    const loaded = Config.load({
      ALMANAC_PORT: "0",
      ALMANAC_POLL_INTERVAL: "2s",
      ALMANAC_ALLOW_PRIVATE_URLS: "true",
      ...env,
      ALMANAC_DATA_DIR: dataDir,
      ALMANAC_ADMIN_TOKEN: adminToken
    })
    if (Either.isLeft(loaded)) return yield* Effect.die(loaded.left)
    const config = loaded.right
    const logs: Array<string> = []
    const collect = Logger.make(({ message }) => {
      logs.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    })
    // With options.logs, every whole line (logfmt, annotations included) goes there too.
    const lines = options.logs
    const loggers = Layer.mergeAll(
      Logger.minimumLogLevel(LogLevel.Info),
      Logger.replace(
        Logger.defaultLogger,
        Logger.filterLogLevel(Logger.defaultLogger, LogLevel.greaterThanEqual(LogLevel.Warning))
      ),
      Logger.add(collect),
      lines === undefined
        ? Layer.empty
        : Logger.add(
            Logger.map(Logger.logfmtLogger, (line) => {
              lines.push(line)
            })
          )
    )
    const context = yield* Layer.build(Server.layer(config).pipe(Layer.provide(loggers))).pipe(Effect.orDie)
    const address = Context.get(context, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") return yield* Effect.die("the server is not on TCP")
    // The configured address (127.0.0.1 unless a test binds another interface).
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${address.port}`
    const request: TestServer["request"] = async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      if (options.body !== undefined) headers["content-type"] = "application/json"
      const res = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
      })
      const text = await res.text()
      let body: unknown = text
      try {
        body = text === "" ? undefined : JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body }
    }
    const createUser: TestServer["createUser"] = async (name) => {
      const res = await request("POST", "/api/admin/users", { token: adminToken, body: { name } })
      const body = res.body as { user: { id: string }; token: { token: string } }
      if (res.status !== 201)
        throw new Error(`creating a user failed: ${res.status} ${JSON.stringify(res.body)}`)
      return { id: body.user.id, token: body.token.token }
    }
    const sessionCookie: TestServer["sessionCookie"] = async (token) => {
      const res = await fetch(`${url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: url },
        body: new URLSearchParams({ token }).toString()
      })
      const cookie = /^(almanac_session=[^;]+);/.exec(res.headers.get("set-cookie") ?? "")?.[1]
      if (res.status !== 303 || cookie === undefined) throw new Error(`signing in failed: ${res.status}`)
      return cookie
    }
    const server: TestServer = { url, dataDir, adminToken, config, logs, request, createUser, sessionCookie }
    contexts.set(server, context)
    return server
  })

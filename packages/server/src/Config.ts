/**
 * The server's configuration: the environment first, `serve` flags over it. Every problem is
 * collected before the start is refused, so a person fixes them all in one go, one line each.
 * Secrets (master key, admin token, a database URL with a password) come only from the
 * environment, never from flags: argv is visible to every user of the machine.
 */
import { resolve } from "node:path"
import { Duration, Either, Option, Redacted, Schema } from "effect"

export type Database =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | {
      readonly _tag: "SqlServer"
      readonly server: string
      readonly port: number
      readonly database: string
      readonly username: Option.Option<string>
      readonly password: Option.Option<Redacted.Redacted<string>>
      readonly encrypt: boolean
      readonly trustServerCertificate: boolean
    }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted<string> }

export interface ServerConfig {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly database: Database
  /** Time between polls of an idle calendar (jittered ±20% by the actor). */
  readonly pollInterval: Duration.Duration
  readonly masterKey: Option.Option<Redacted.Redacted<string>>
  /** Older master keys, still able to open secrets until `almanac vault rotate` re-seals them. */
  readonly previousMasterKeys: ReadonlyArray<Redacted.Redacted<string>>
  readonly adminToken: Option.Option<Redacted.Redacted<string>>
  /**
   * Lets accounts point at loopback, private and link-local addresses. Off by default: a user
   * could otherwise make the server probe its own network (SSRF). Tests and home networks with
   * a CalDAV server on the LAN turn it on.
   */
  readonly allowPrivateUrls: boolean
  /** Per HTTP exchange with a calendar server. */
  readonly requestTimeout: Duration.Duration
  /**
   * The server's address as browsers and providers reach it (redirect URIs, push addresses), without
   * a trailing slash. Defaults to http://127.0.0.1:PORT when the server listens on loopback; none
   * otherwise, and then nothing that needs it (connecting Google or Microsoft) is offered.
   */
  readonly publicUrl: Option.Option<string>
  /**
   * Where providers post push notifications (Google channels, Graph subscriptions): the public URL
   * when it is https (ALMANAC_PUSH=auto, the default), also an http one on loopback with
   * ALMANAC_PUSH=on (a local TLS proxy, tests), none with ALMANAC_PUSH=off. None: polling alone.
   */
  readonly pushUrl: Option.Option<string>
  readonly google: GoogleConfig
  readonly microsoft: MicrosoftConfig
  /**
   * ALMANAC_RUNNER_ADDRESS: where this process listens for the other runners of a cluster (the
   * calendars' shards split among every runner registered in one PostgreSQL database). None, the
   * default: one runner hosts every calendar.
   */
  readonly runner: Option.Option<RunnerAddress>
}

/** A runner's host and port, as the other runners reach it. */
export interface RunnerAddress {
  readonly host: string
  readonly port: number
}

/** "host:port" or "[v6]:port", the port 1–65535. */
export const parseRunnerAddress = (text: string): Option.Option<RunnerAddress> => {
  const m = /^\s*(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})\s*$/.exec(text)
  if (m === null) return Option.none()
  const host = m[1] ?? m[2]
  const port = Number(m[3])
  return host === undefined || !Number.isInteger(port) || port < 1 || port > 65535
    ? Option.none()
    : Option.some({ host, port })
}

/** Google's OAuth client and endpoints; every endpoint can point elsewhere (tests, proxies). */
export interface GoogleConfig {
  /** None: connecting Google is not offered, and the pages say how to create a client. */
  readonly clientId: Option.Option<string>
  readonly clientSecret: Option.Option<Redacted.Redacted<string>>
  readonly authUrl: string
  readonly tokenUrl: string
  readonly revokeUrl: string
  /** The Calendar API base, including its version path. */
  readonly apiUrl: string
}

export const googleDefaults = {
  authUrl: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.googleapis.com/token",
  revokeUrl: "https://oauth2.googleapis.com/revoke",
  apiUrl: "https://www.googleapis.com/calendar/v3"
} as const

/** The Microsoft identity platform app and Graph's address; both can point elsewhere (tests, sovereign clouds). */
export interface MicrosoftConfig {
  /** None: connecting Microsoft is not offered, and the pages say how to register an app. */
  readonly clientId: Option.Option<string>
  readonly clientSecret: Option.Option<Redacted.Redacted<string>>
  /** `common` (work, school and personal accounts), `organizations`, `consumers` or a tenant. */
  readonly tenant: string
  /** The login host only; the endpoints are `{authority}/{tenant}/oauth2/v2.0/authorize` and `…/token`. */
  readonly authority: string
  /** Graph's base, including its version path. */
  readonly graphUrl: string
}

export const microsoftDefaults = {
  tenant: "common",
  authority: "https://login.microsoftonline.com",
  graphUrl: "https://graph.microsoft.com/v1.0"
} as const

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `configuration: ${this.problems.join("; ")}`
  }
}

/** Non-secret settings that `almanac serve` also takes as flags. */
export interface Flags {
  readonly host: Option.Option<string>
  readonly port: Option.Option<number>
  readonly dataDir: Option.Option<string>
  readonly pollInterval: Option.Option<string>
  readonly allowPrivateUrls: boolean
}

export const noFlags: Flags = {
  host: Option.none(),
  port: Option.none(),
  dataDir: Option.none(),
  pollInterval: Option.none(),
  allowPrivateUrls: false
}

/** The data folder when neither flag nor ALMANAC_DATA_DIR names one, and the SQLite file in it. */
export const defaultDataDir = "./data"
export const sqliteFileIn = (dataDir: string): string => resolve(dataDir, "almanac.db")

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "10m", "30s", "1h", "1500ms"; a bare number is seconds. */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (m === null || m[1] === undefined) return Option.none()
  return Option.some(Duration.millis(Math.round(Number(m[1]) * (units[m[2] ?? "s"] ?? 1000))))
}

const truthy = (text: string | undefined): boolean | undefined =>
  text === undefined || text === ""
    ? undefined
    : /^(1|true|yes|on)$/i.test(text)
      ? true
      : /^(0|false|no|off)$/i.test(text)
        ? false
        : undefined

/** A 32-byte key as 64 hex digits or base64 / base64url. */
export const decodeMasterKey = (text: string): Option.Option<Uint8Array> => {
  const t = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Option.some(new Uint8Array(Buffer.from(t, "hex")))
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    if (bytes.length === 32) return Option.some(new Uint8Array(bytes))
  }
  return Option.none()
}

const parseDatabase = (url: string | undefined, dataDir: string): Either.Either<Database, string> => {
  if (url === undefined || url.trim() === "")
    return Either.right({ _tag: "Sqlite", filename: sqliteFileIn(dataDir) })
  const text = url.trim()
  if (text.startsWith("sqlite:")) {
    const path = text.slice("sqlite:".length).replace(/^\/\//, "")
    return path === ""
      ? Either.left("ALMANAC_DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./data/almanac.db")
      : Either.right({ _tag: "Sqlite", filename: resolve(path) })
  }
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return Either.left(
      "ALMANAC_DATABASE_URL: not a URL; use sqlite:<file>, sqlserver://user:password@host:1433/database or postgres://user:password@host/database"
    )
  }
  switch (parsed.protocol) {
    case "sqlserver:":
    case "mssql:": {
      const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
      if (parsed.hostname === "" || database === "")
        return Either.left("ALMANAC_DATABASE_URL: SQL Server needs a host and a database name")
      const port = parsed.port === "" ? 1433 : Number(parsed.port)
      const params = parsed.searchParams
      return Either.right({
        _tag: "SqlServer",
        server: parsed.hostname,
        port,
        database,
        username: parsed.username === "" ? Option.none() : Option.some(decodeURIComponent(parsed.username)),
        password:
          parsed.password === ""
            ? Option.none()
            : Option.some(Redacted.make(decodeURIComponent(parsed.password))),
        // Azure SQL requires encryption; a local SQL Server may turn it off explicitly.
        encrypt: truthy(params.get("encrypt") ?? undefined) ?? true,
        trustServerCertificate: truthy(params.get("trustServerCertificate") ?? undefined) ?? false
      })
    }
    case "postgres:":
    case "postgresql:":
      return Either.right({ _tag: "Postgres", url: Redacted.make(text) })
    default:
      return Either.left(
        `ALMANAC_DATABASE_URL: unsupported scheme ${parsed.protocol}; use sqlite:, sqlserver: or postgres:`
      )
  }
}

/** A loopback host: a name for this machine or an address in 127.0.0.0/8 or ::1. */
export const isLoopbackHost = (hostname: string): boolean => {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "")
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/**
 * An endpoint or base URL from configuration: https everywhere, plain http only on loopback (a test
 * server or a local proxy), where nothing crosses a network. No credentials, query or fragment.
 */
export const parseServiceUrl = (name: string, text: string): Either.Either<string, string> => {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return Either.left(`${name}: ${JSON.stringify(text)} is not a URL`)
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    return Either.left(`${name}: must be an https:// URL (it is ${url.protocol})`)
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname))
    return Either.left(
      `${name}: must use https:// (plain http:// is accepted only on a loopback address such as 127.0.0.1)`
    )
  if (url.username !== "" || url.password !== "")
    return Either.left(`${name}: must not carry a user name or password`)
  if (url.search !== "" || url.hash !== "") return Either.left(`${name}: must not have a query or fragment`)
  return Either.right(url.href.replace(/\/+$/, ""))
}

/**
 * Reads the configuration from `env` and `flags`. Never echoes a secret's value in a problem.
 */
export const load = (
  env: Record<string, string | undefined>,
  flags: Flags = noFlags
): Either.Either<ServerConfig, ConfigInvalid> => {
  const problems: Array<string> = []
  const get = (name: string): string | undefined => {
    const v = env[name]
    return v === undefined || v.trim() === "" ? undefined : v
  }

  const host = Option.getOrElse(flags.host, () => get("ALMANAC_HOST") ?? "127.0.0.1")

  let port = 8080
  const portText = Option.match(flags.port, { onNone: () => get("ALMANAC_PORT"), onSome: String })
  if (portText !== undefined) {
    const n = Number(portText)
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      problems.push(`ALMANAC_PORT: ${JSON.stringify(portText)} is not a port number (0–65535)`)
    else port = n
  }

  const dataDir = resolve(Option.getOrElse(flags.dataDir, () => get("ALMANAC_DATA_DIR") ?? defaultDataDir))

  let pollInterval = Duration.minutes(10)
  const intervalText = Option.getOrElse(flags.pollInterval, () => get("ALMANAC_POLL_INTERVAL"))
  if (intervalText !== undefined) {
    const d = parseDuration(intervalText)
    if (Option.isNone(d) || Duration.toMillis(d.value) < 1000)
      problems.push(
        `ALMANAC_POLL_INTERVAL: ${JSON.stringify(intervalText)} is not a duration of at least 1s (e.g. 10m, 90s, 1h)`
      )
    else pollInterval = d.value
  }

  let requestTimeout = Duration.seconds(30)
  const timeoutText = get("ALMANAC_REQUEST_TIMEOUT")
  if (timeoutText !== undefined) {
    const d = parseDuration(timeoutText)
    if (Option.isNone(d) || Duration.toMillis(d.value) < 100)
      problems.push(`ALMANAC_REQUEST_TIMEOUT: ${JSON.stringify(timeoutText)} is not a duration (e.g. 30s)`)
    else requestTimeout = d.value
  }

  const keyText = get("ALMANAC_MASTER_KEY")
  if (keyText !== undefined && Option.isNone(decodeMasterKey(keyText)))
    problems.push(
      "ALMANAC_MASTER_KEY: must be 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)"
    )
  const previousText = get("ALMANAC_PREVIOUS_MASTER_KEYS")
  const previous = previousText === undefined ? [] : previousText.split(",").map((k) => k.trim())
  previous.forEach((k, i) => {
    if (Option.isNone(decodeMasterKey(k)))
      problems.push(`ALMANAC_PREVIOUS_MASTER_KEYS: key ${i + 1} is not 32 bytes in hex or base64`)
  })

  const adminText = get("ALMANAC_ADMIN_TOKEN")
  if (adminText !== undefined && adminText.trim().length < 24)
    problems.push(
      "ALMANAC_ADMIN_TOKEN: too short; use at least 24 random characters (e.g. `openssl rand -hex 24`)"
    )

  let allowPrivateUrls = flags.allowPrivateUrls
  const allowText = get("ALMANAC_ALLOW_PRIVATE_URLS")
  if (allowText !== undefined) {
    const b = truthy(allowText)
    if (b === undefined)
      problems.push(`ALMANAC_ALLOW_PRIVATE_URLS: ${JSON.stringify(allowText)} is not true or false`)
    else allowPrivateUrls = allowPrivateUrls || b
  }

  const database = parseDatabase(get("ALMANAC_DATABASE_URL"), dataDir)
  if (Either.isLeft(database)) problems.push(database.left)

  const serviceUrl = (name: string, fallback: string): string => {
    const text = get(name)
    if (text === undefined) return fallback
    const parsed = parseServiceUrl(name, text)
    if (Either.isLeft(parsed)) problems.push(parsed.left)
    return Either.getOrElse(parsed, () => fallback)
  }
  const publicText = get("ALMANAC_PUBLIC_URL")
  const publicUrl =
    publicText !== undefined
      ? Option.some(serviceUrl("ALMANAC_PUBLIC_URL", ""))
      : isLoopbackHost(host) && port !== 0
        ? Option.some(`http://${host.includes(":") ? `[${host}]` : host}:${port}`)
        : Option.none()
  const pushMode = (get("ALMANAC_PUSH") ?? "auto").trim().toLowerCase()
  if (!["auto", "on", "off"].includes(pushMode))
    problems.push(`ALMANAC_PUSH: ${JSON.stringify(pushMode)} is not auto, on or off`)
  if (pushMode === "on" && Option.isNone(publicUrl))
    problems.push(
      "ALMANAC_PUSH: on needs ALMANAC_PUBLIC_URL, the address providers post their notifications to"
    )
  const pushUrl =
    pushMode === "off"
      ? Option.none<string>()
      : Option.filter(publicUrl, (u) => pushMode === "on" || u.startsWith("https://"))
  const google: GoogleConfig = {
    clientId: Option.fromNullable(get("ALMANAC_GOOGLE_CLIENT_ID")?.trim()),
    clientSecret: Option.map(Option.fromNullable(get("ALMANAC_GOOGLE_CLIENT_SECRET")), (s) =>
      Redacted.make(s.trim())
    ),
    authUrl: serviceUrl("ALMANAC_GOOGLE_AUTH_URL", googleDefaults.authUrl),
    tokenUrl: serviceUrl("ALMANAC_GOOGLE_TOKEN_URL", googleDefaults.tokenUrl),
    revokeUrl: serviceUrl("ALMANAC_GOOGLE_REVOKE_URL", googleDefaults.revokeUrl),
    apiUrl: serviceUrl("ALMANAC_GOOGLE_API_URL", googleDefaults.apiUrl)
  }
  if (Option.isSome(google.clientId) && Option.isNone(google.clientSecret))
    problems.push(
      "ALMANAC_GOOGLE_CLIENT_SECRET: missing; a Google OAuth client of type Web application has a client secret beside its id"
    )
  if (Option.isNone(google.clientId) && Option.isSome(google.clientSecret))
    problems.push("ALMANAC_GOOGLE_CLIENT_ID: missing; the client secret was set without the client id")

  const tenant = get("ALMANAC_MICROSOFT_TENANT")?.trim() ?? microsoftDefaults.tenant
  if (!/^[A-Za-z0-9.-]{1,100}$/.test(tenant))
    problems.push(
      `ALMANAC_MICROSOFT_TENANT: ${JSON.stringify(tenant)} is no tenant; use common, organizations, consumers, a tenant id or a domain`
    )
  const microsoft: MicrosoftConfig = {
    clientId: Option.fromNullable(get("ALMANAC_MICROSOFT_CLIENT_ID")?.trim()),
    clientSecret: Option.map(Option.fromNullable(get("ALMANAC_MICROSOFT_CLIENT_SECRET")), (s) =>
      Redacted.make(s.trim())
    ),
    tenant,
    authority: serviceUrl("ALMANAC_MICROSOFT_AUTHORITY", microsoftDefaults.authority).replace(/\/+$/, ""),
    graphUrl: serviceUrl("ALMANAC_GRAPH_URL", microsoftDefaults.graphUrl).replace(/\/+$/, "")
  }
  if (Option.isSome(microsoft.clientId) && Option.isNone(microsoft.clientSecret))
    problems.push(
      "ALMANAC_MICROSOFT_CLIENT_SECRET: missing; the app registration's client secret (Certificates & secrets) goes beside its id"
    )
  if (Option.isNone(microsoft.clientId) && Option.isSome(microsoft.clientSecret))
    problems.push("ALMANAC_MICROSOFT_CLIENT_ID: missing; the client secret was set without the client id")

  const runnerText = get("ALMANAC_RUNNER_ADDRESS")
  const runner = runnerText === undefined ? Option.none<RunnerAddress>() : parseRunnerAddress(runnerText)
  if (runnerText !== undefined && Option.isNone(runner))
    problems.push(
      `ALMANAC_RUNNER_ADDRESS: ${JSON.stringify(runnerText)} is not host:port (e.g. 10.0.0.5:34431), the address the other runners reach this one at`
    )
  if (Option.isSome(runner) && Either.isRight(database) && database.right._tag !== "Postgres")
    problems.push(
      `ALMANAC_RUNNER_ADDRESS: several runners share one PostgreSQL database (ALMANAC_DATABASE_URL=postgres://…); the database here is ${database.right._tag === "Sqlite" ? "SQLite, which only one process can serve" : "SQL Server, on which several runners are not supported"}`
    )

  if (problems.length > 0 || Either.isLeft(database)) return Either.left(new ConfigInvalid({ problems }))
  return Either.right({
    host,
    port,
    dataDir,
    database: database.right,
    pollInterval,
    masterKey: keyText === undefined ? Option.none() : Option.some(Redacted.make(keyText.trim())),
    previousMasterKeys: previous.map((k) => Redacted.make(k)),
    adminToken: adminText === undefined ? Option.none() : Option.some(Redacted.make(adminText.trim())),
    allowPrivateUrls,
    requestTimeout,
    publicUrl,
    pushUrl,
    google,
    microsoft,
    runner
  })
}

import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, Option, Redacted } from "effect"
import * as Config from "../src/Config.js"

const load = (env: Record<string, string>) => Config.load(env)

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = Either.getOrThrow(load({}))
    expect(config.port).toBe(8080)
    expect(config.host).toBe("127.0.0.1")
    expect(config.dataDir).toMatch(/\/data$/)
    expect(config.database).toEqual({ _tag: "Sqlite", filename: `${config.dataDir}/almanac.db` })
    expect(Duration.toMillis(config.pollInterval)).toBe(600_000)
    expect(Option.isNone(config.masterKey)).toBe(true)
    expect(Option.isNone(config.adminToken)).toBe(true)
    expect(config.allowPrivateUrls).toBe(false)
  })

  it("reads every setting from the environment, flags over it", () => {
    const key = Buffer.alloc(32, 7).toString("base64")
    const config = Either.getOrThrow(
      Config.load(
        {
          ALMANAC_PORT: "9000",
          ALMANAC_DATA_DIR: "/tmp/almanac-config-test",
          ALMANAC_POLL_INTERVAL: "90s",
          ALMANAC_MASTER_KEY: key,
          ALMANAC_ADMIN_TOKEN: "a".repeat(32),
          ALMANAC_ALLOW_PRIVATE_URLS: "true"
        },
        { ...Config.noFlags, port: Option.some(9100), pollInterval: Option.some("2m") }
      )
    )
    expect(config.port).toBe(9100)
    expect(config.dataDir).toBe("/tmp/almanac-config-test")
    expect(Duration.toMillis(config.pollInterval)).toBe(120_000)
    expect(Option.map(config.masterKey, Redacted.value)).toEqual(Option.some(key))
    expect(config.allowPrivateUrls).toBe(true)
  })

  it("refuses a bad start with one line per problem, none of them echoing a secret", () => {
    const secretish = "not-a-key-but-secret-looking-value"
    const result = load({
      ALMANAC_PORT: "80800",
      ALMANAC_POLL_INTERVAL: "soon",
      ALMANAC_MASTER_KEY: secretish,
      ALMANAC_ADMIN_TOKEN: "tiny-secret1",
      ALMANAC_DATABASE_URL: "mysql://x@y/z",
      ALMANAC_ALLOW_PRIVATE_URLS: "maybe"
    })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isRight(result)) return
    const problems = result.left.problems
    expect(problems).toHaveLength(6)
    for (const name of [
      "ALMANAC_PORT",
      "ALMANAC_POLL_INTERVAL",
      "ALMANAC_MASTER_KEY",
      "ALMANAC_ADMIN_TOKEN",
      "ALMANAC_DATABASE_URL",
      "ALMANAC_ALLOW_PRIVATE_URLS"
    ])
      expect(problems.filter((p) => p.startsWith(`${name}:`))).toHaveLength(1)
    expect(problems.join("\n")).not.toContain(secretish)
    expect(problems.join("\n")).not.toContain("tiny-secret1")
  })

  it("understands the three databases, and never keeps a database password in plain view", () => {
    const mssql = Either.getOrThrow(
      load({ ALMANAC_DATABASE_URL: "sqlserver://almanac:p%40ss@db.example.net:1444/almanac?encrypt=true" })
    ).database
    expect(mssql._tag).toBe("SqlServer")
    if (mssql._tag !== "SqlServer") return
    expect(mssql).toMatchObject({ server: "db.example.net", port: 1444, database: "almanac", encrypt: true })
    expect(Option.map(mssql.password, Redacted.value)).toEqual(Option.some("p@ss"))
    expect(String(mssql.password)).not.toContain("p@ss")
    const pg = Either.getOrThrow(load({ ALMANAC_DATABASE_URL: "postgres://u:pw@localhost/almanac" })).database
    expect(pg._tag).toBe("Postgres")
    const file = Either.getOrThrow(load({ ALMANAC_DATABASE_URL: "sqlite:/tmp/x.db" })).database
    expect(file).toEqual({ _tag: "Sqlite", filename: "/tmp/x.db" })
  })

  it("reads durations people write", () => {
    expect(Option.map(Config.parseDuration("10m"), Duration.toMillis)).toEqual(Option.some(600_000))
    expect(Option.map(Config.parseDuration("1h"), Duration.toMillis)).toEqual(Option.some(3_600_000))
    expect(Option.map(Config.parseDuration("45"), Duration.toMillis)).toEqual(Option.some(45_000))
    expect(Option.isNone(Config.parseDuration("ten minutes"))).toBe(true)
  })

  it("takes master keys as hex or base64 of exactly 32 bytes", () => {
    expect(Option.isSome(Config.decodeMasterKey("ab".repeat(32)))).toBe(true)
    expect(Option.isSome(Config.decodeMasterKey(Buffer.alloc(32, 1).toString("base64url")))).toBe(true)
    expect(Option.isNone(Config.decodeMasterKey("ab".repeat(31)))).toBe(true)
    expect(Option.isNone(Config.decodeMasterKey(Buffer.alloc(31, 1).toString("base64")))).toBe(true)
  })

  describe("Google and the public URL", () => {
    it("default to Google's own endpoints, no client, and the loopback address the server listens on", () => {
      const config = Either.getOrThrow(load({}))
      expect(config.google).toEqual({
        clientId: Option.none(),
        clientSecret: Option.none(),
        authUrl: "https://accounts.google.com/o/oauth2/v2/auth",
        tokenUrl: "https://oauth2.googleapis.com/token",
        revokeUrl: "https://oauth2.googleapis.com/revoke",
        apiUrl: "https://www.googleapis.com/calendar/v3"
      })
      expect(config.publicUrl).toEqual(Option.some("http://127.0.0.1:8080"))
      // Listening on every address, the server cannot guess how browsers reach it.
      expect(Either.getOrThrow(load({ ALMANAC_HOST: "0.0.0.0" })).publicUrl).toEqual(Option.none())
    })

    it("reads the client, keeps its secret redacted, and takes https endpoints and loopback http", () => {
      const secret = "GOCSPX-very-secret-value"
      const config = Either.getOrThrow(
        load({
          ALMANAC_PUBLIC_URL: "https://almanac.example.net/",
          ALMANAC_GOOGLE_CLIENT_ID: "123-abc.apps.googleusercontent.com",
          ALMANAC_GOOGLE_CLIENT_SECRET: secret,
          ALMANAC_GOOGLE_AUTH_URL: "http://127.0.0.1:4444/o/oauth2/v2/auth",
          ALMANAC_GOOGLE_TOKEN_URL: "http://localhost:4444/token",
          ALMANAC_GOOGLE_REVOKE_URL: "http://[::1]:4444/revoke",
          ALMANAC_GOOGLE_API_URL: "https://proxy.example.net/calendar/v3/"
        })
      )
      expect(config.publicUrl).toEqual(Option.some("https://almanac.example.net"))
      expect(config.google.clientId).toEqual(Option.some("123-abc.apps.googleusercontent.com"))
      expect(Option.map(config.google.clientSecret, Redacted.value)).toEqual(Option.some(secret))
      expect(String(config.google.clientSecret)).not.toContain(secret)
      expect(JSON.stringify(config)).not.toContain(secret)
      expect(config.google.authUrl).toBe("http://127.0.0.1:4444/o/oauth2/v2/auth")
      expect(config.google.tokenUrl).toBe("http://localhost:4444/token")
      expect(config.google.revokeUrl).toBe("http://[::1]:4444/revoke")
      expect(config.google.apiUrl).toBe("https://proxy.example.net/calendar/v3")
    })

    it("refuses plain http off loopback and other unusable URLs, one line each, never the secret", () => {
      const secret = "GOCSPX-do-not-echo"
      const result = load({
        ALMANAC_PUBLIC_URL: "http://almanac.example.net",
        ALMANAC_GOOGLE_AUTH_URL: "http://accounts.example.com/auth",
        ALMANAC_GOOGLE_TOKEN_URL: "ftp://127.0.0.1/token",
        ALMANAC_GOOGLE_REVOKE_URL: "https://user:pw@oauth2.example.com/revoke",
        ALMANAC_GOOGLE_API_URL: "not a url",
        ALMANAC_GOOGLE_CLIENT_SECRET: secret
      })
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isRight(result)) return
      const problems = result.left.problems
      expect(problems).toHaveLength(6)
      for (const name of [
        "ALMANAC_PUBLIC_URL",
        "ALMANAC_GOOGLE_AUTH_URL",
        "ALMANAC_GOOGLE_TOKEN_URL",
        "ALMANAC_GOOGLE_REVOKE_URL",
        "ALMANAC_GOOGLE_API_URL",
        "ALMANAC_GOOGLE_CLIENT_ID"
      ])
        expect(
          problems.filter((p) => p.startsWith(`${name}:`)),
          name
        ).toHaveLength(1)
      expect(problems.find((p) => p.startsWith("ALMANAC_PUBLIC_URL:"))).toMatch(/https:\/\//)
      expect(problems.find((p) => p.startsWith("ALMANAC_GOOGLE_AUTH_URL:"))).toMatch(/loopback/)
      expect(problems.join("\n")).not.toContain(secret)
      expect(problems.join("\n")).not.toContain(":pw@")
    })

    it("wants the client secret with the client id", () => {
      const result = load({ ALMANAC_GOOGLE_CLIENT_ID: "123-abc.apps.googleusercontent.com" })
      expect(Either.isLeft(result) && result.left.problems).toEqual([
        expect.stringMatching(/^ALMANAC_GOOGLE_CLIENT_SECRET: missing/)
      ])
    })

    it("knows loopback hosts", () => {
      for (const h of ["127.0.0.1", "127.8.9.10", "localhost", "[::1]", "::1"])
        expect(Config.isLoopbackHost(h), h).toBe(true)
      for (const h of [
        "128.0.0.1",
        "example.com",
        "localhost.example.com",
        "app.localhost",
        "10.0.0.1",
        "::2",
        "1270.0.0.1"
      ])
        expect(Config.isLoopbackHost(h), h).toBe(false)
    })
  })

  it("asks for push only with an https public URL, unless ALMANAC_PUSH says otherwise", () => {
    const pushUrl = (env: Record<string, string>) => Either.map(load(env), (c) => Option.getOrNull(c.pushUrl))
    expect(pushUrl({ ALMANAC_PUBLIC_URL: "https://almanac.example.net" })).toEqual(
      Either.right("https://almanac.example.net")
    )
    // The default public URL on loopback is http: providers would refuse it, so polling alone.
    expect(pushUrl({})).toEqual(Either.right(null))
    expect(pushUrl({ ALMANAC_PUBLIC_URL: "https://almanac.example.net", ALMANAC_PUSH: "off" })).toEqual(
      Either.right(null)
    )
    expect(pushUrl({ ALMANAC_PUBLIC_URL: "http://127.0.0.1:8080", ALMANAC_PUSH: "on" })).toEqual(
      Either.right("http://127.0.0.1:8080")
    )
    const problems = (env: Record<string, string>) =>
      Either.match(load(env), { onLeft: (e) => e.problems, onRight: () => [] })
    expect(problems({ ALMANAC_PUSH: "sometimes" })).toEqual([
      'ALMANAC_PUSH: "sometimes" is not auto, on or off'
    ])
    expect(problems({ ALMANAC_HOST: "0.0.0.0", ALMANAC_PUSH: "on" }).join(" ")).toMatch(
      /ALMANAC_PUSH: on needs/
    )
  })
})

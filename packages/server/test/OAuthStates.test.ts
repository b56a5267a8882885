/**
 * The OAuth state rules on a real SQLite file, with a clock the test moves (TestClock): a state is
 * taken once, a replay finds nothing, ten minutes end it, and the table holds neither the state
 * nor the code verifier in plain text.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { StoreMigrations } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted, TestClock } from "effect"
import * as OAuthStates from "../src/store/OAuthStates.js"
import * as ServerMigrations from "../src/store/ServerMigrations.js"
import * as Vault from "../src/Vault.js"

const setup = () => {
  const dataDir = mkdtempSync(join(tmpdir(), "almanac-oauth-states-"))
  const file = join(dataDir, "almanac.db")
  const db = Layer.effectDiscard(
    StoreMigrations.run.pipe(Effect.zipRight(ServerMigrations.run), Effect.orDie)
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename: file }).pipe(Layer.orDie)))
  const layer = OAuthStates.layer.pipe(
    Layer.provideMerge(
      Vault.layer({ dataDir, masterKey: Option.none(), previousMasterKeys: [] }).pipe(Layer.orDie)
    ),
    Layer.provideMerge(db)
  )
  return { file, layer }
}

const flow = (
  userId: string,
  browser: Option.Option<Redacted.Redacted<string>> = Option.none(),
  state: Redacted.Redacted<string> = OAuthStates.randomSecret()
) => ({
  state,
  provider: "google" as const,
  userId,
  browser,
  name: Option.some("Work Google"),
  codeVerifier: Redacted.make(`verifier-${userId}-0123456789abcdefghijklmnopqrstuvwxyz`),
  redirectUri: "https://almanac.example.net/oauth/google/callback"
})

describe("OAuth states", () => {
  it.effect("are taken once: the flow comes back whole, a replay finds nothing", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const states = yield* OAuthStates.OAuthStates
      const browser = OAuthStates.randomSecret()
      const state = OAuthStates.randomSecret()
      yield* states.start(flow("ann", Option.some(browser), state))
      const first = yield* states.take("google", Redacted.value(state))
      expect(first._tag).toBe("Found")
      if (first._tag !== "Found") return
      expect(first.flow).toMatchObject({
        provider: "google",
        userId: "ann",
        name: Option.some("Work Google"),
        browserHash: Option.some(OAuthStates.hashOf(Redacted.value(browser))),
        redirectUri: "https://almanac.example.net/oauth/google/callback"
      })
      expect(Redacted.value(first.flow.codeVerifier)).toBe(
        "verifier-ann-0123456789abcdefghijklmnopqrstuvwxyz"
      )
      expect((yield* states.take("google", Redacted.value(state)))._tag).toBe("Unknown")
      // A state made up, or one for another provider, is unknown too.
      expect((yield* states.take("google", "made-up"))._tag).toBe("Unknown")
    }).pipe(Effect.provide(layer))
  })

  it.effect("expire ten minutes after they were made", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const states = yield* OAuthStates.OAuthStates
      const early = OAuthStates.randomSecret()
      const late = OAuthStates.randomSecret()
      yield* states.start(flow("ann", Option.none(), early))
      yield* states.start(flow("bob", Option.none(), late))
      yield* TestClock.adjust(Duration.subtract(Duration.minutes(10), Duration.millis(1)))
      expect((yield* states.take("google", Redacted.value(early)))._tag).toBe("Found")
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* states.take("google", Redacted.value(late)))._tag).toBe("Expired")
      // Taken even when expired: it cannot be tried again.
      expect((yield* states.take("google", Redacted.value(late)))._tag).toBe("Unknown")
    }).pipe(Effect.provide(layer))
  })

  it.effect("long-expired flows are cleared when a new one starts", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const states = yield* OAuthStates.OAuthStates
      const sql = yield* SqlClient.SqlClient
      yield* states.start(flow("ann"))
      yield* TestClock.adjust(Duration.hours(2))
      yield* states.start(flow("bob"))
      const rows = yield* sql<{ user_id: string }>`SELECT user_id FROM oauth_states`
      expect(rows.map((r) => r.user_id)).toEqual(["bob"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("keep only hashes of states and cookies, and the verifier sealed", () => {
    const { layer, file } = setup()
    return Effect.gen(function* () {
      const states = yield* OAuthStates.OAuthStates
      const browser = OAuthStates.randomSecret()
      const state = OAuthStates.randomSecret()
      yield* states.start(flow("ann", Option.some(browser), state))
      const text = [file, `${file}-wal`]
        .flatMap((f) => {
          try {
            return [readFileSync(f).toString("latin1")]
          } catch {
            return []
          }
        })
        .join("")
      expect(text).toContain(OAuthStates.hashOf(Redacted.value(state)))
      expect(text).not.toContain(Redacted.value(state))
      expect(text).not.toContain(Redacted.value(browser))
      expect(text).not.toContain("verifier-ann-")
    }).pipe(Effect.provide(layer))
  })
})

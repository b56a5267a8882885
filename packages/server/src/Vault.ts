/**
 * The credential vault of the running server: the key ring (from ALMANAC_MASTER_KEY, or a key
 * generated once into the data folder with owner-only permissions) and sealing bound to an
 * account. The cryptography itself is core's CredentialVault; this module decides where keys
 * live and how a rotation re-seals every stored secret.
 */
import { createHash } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CredentialVault } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { decodeMasterKey, type ServerConfig } from "./Config.js"

export class VaultSetupError extends Schema.TaggedError<VaultSetupError>()("VaultSetupError", {
  message: Schema.String
}) {}

export interface VaultShape {
  readonly seal: (accountId: string, secret: Redacted.Redacted<string>) => string
  readonly open: (
    accountId: string,
    sealed: string
  ) => Effect.Effect<Redacted.Redacted<string>, CredentialVault.VaultError>
  /** The id of the key that seals now (not secret). */
  readonly currentKeyId: string
}

export class Vault extends Context.Tag("@almanac/server/Vault")<Vault, VaultShape>() {}

export const keyFileName = "master.key"

/** Key ids are derived from the key, so the same key always has the same id. */
const keyFor = (bytes: Uint8Array): CredentialVault.MasterKey => ({
  id: createHash("sha256").update(bytes).digest("base64url").slice(0, 8),
  key: Redacted.make(bytes)
})

const encodeKey = (key: CredentialVault.MasterKey) => Buffer.from(Redacted.value(key.key)).toString("base64")

const readKeyFile = (
  file: string
): Effect.Effect<ReadonlyArray<CredentialVault.MasterKey>, VaultSetupError> =>
  Effect.try({
    try: () => readFileSync(file, "utf8"),
    catch: () => new VaultSetupError({ message: `cannot read the master key file ${file}` })
  }).pipe(
    Effect.flatMap((text) => {
      const lines = text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"))
      const keys = lines.map(decodeMasterKey)
      return keys.every(Option.isSome) && keys.length > 0
        ? Effect.succeed(keys.map((k) => keyFor(k.value)))
        : Effect.fail(
            new VaultSetupError({
              message: `the master key file ${file} is damaged (expected base64 keys, one a line)`
            })
          )
    })
  )

/** Writes the keys (current first) atomically with owner-only permissions. */
const writeKeyFile = (file: string, keys: ReadonlyArray<CredentialVault.MasterKey>) =>
  Effect.try({
    try: () => {
      const tmp = `${file}.tmp`
      writeFileSync(
        tmp,
        `# Almanac master key: the first line seals, all lines open. Keep this file secret and backed up.\n${keys.map(encodeKey).join("\n")}\n`,
        { mode: 0o600 }
      )
      chmodSync(tmp, 0o600)
      renameSync(tmp, file)
    },
    catch: (e) =>
      new VaultSetupError({
        message: `cannot write the master key file ${file} (${e instanceof Error ? e.message : String(e)})`
      })
  })

export interface LoadedRing {
  readonly ring: CredentialVault.KeyRing
  /** Where the current key came from, for the start-up log line. */
  readonly source: "environment" | "key file" | "generated"
  readonly keyFile: string
}

/**
 * The key ring: ALMANAC_MASTER_KEY when set (keys in the key file, if any, stay usable for
 * opening so that a move from the file to the environment needs no re-sealing first);
 * otherwise the key file; otherwise a new key written to the key file.
 */
export const loadRing = (
  config: Pick<ServerConfig, "dataDir" | "masterKey" | "previousMasterKeys">
): Effect.Effect<LoadedRing, VaultSetupError> =>
  Effect.gen(function* () {
    const keyFile = join(config.dataDir, keyFileName)
    const previousFromEnv = config.previousMasterKeys.flatMap((k) =>
      Option.match(decodeMasterKey(Redacted.value(k)), { onNone: () => [], onSome: (b) => [keyFor(b)] })
    )
    const fileKeys = existsSync(keyFile) ? yield* readKeyFile(keyFile) : []
    if (existsSync(keyFile) && (statSync(keyFile).mode & 0o077) !== 0)
      yield* Effect.logWarning(`the master key file ${keyFile} is readable by others; run chmod 600 on it`)
    const configured = Option.flatMap(config.masterKey, (k) => decodeMasterKey(Redacted.value(k)))
    if (Option.isSome(configured)) {
      const current = keyFor(configured.value)
      const previous = [...previousFromEnv, ...fileKeys].filter((k) => k.id !== current.id)
      return { ring: { current, previous }, source: "environment", keyFile }
    }
    const [first, ...rest] = fileKeys
    if (first !== undefined)
      return {
        ring: { current: first, previous: [...rest, ...previousFromEnv] },
        source: "key file",
        keyFile
      }
    const generated = keyFor(Redacted.value(CredentialVault.generateKey().key))
    yield* Effect.try({
      try: () => mkdirSync(config.dataDir, { recursive: true, mode: 0o700 }),
      catch: (e) =>
        new VaultSetupError({
          message: `cannot create the data folder ${config.dataDir} (${e instanceof Error ? e.message : String(e)})`
        })
    })
    yield* writeKeyFile(keyFile, [generated])
    return { ring: { current: generated, previous: previousFromEnv }, source: "generated", keyFile }
  })

export const fromRing = (ring: CredentialVault.KeyRing): VaultShape => ({
  seal: (accountId, secret) => CredentialVault.seal(ring, accountId, secret),
  open: (accountId, sealed) => CredentialVault.open(ring, accountId, sealed),
  currentKeyId: ring.current.id
})

/**
 * The vault from configuration; says once in the log where the key came from (never the key).
 * A secret sealed under a key this process does not know yet (`almanac vault rotate` ran while
 * the server was up) makes it read the key file again, once per unknown key id.
 */
export const layer = (
  config: Pick<ServerConfig, "dataDir" | "masterKey" | "previousMasterKeys">
): Layer.Layer<Vault, VaultSetupError> =>
  Layer.effect(
    Vault,
    Effect.gen(function* () {
      const loaded = yield* loadRing(config)
      if (loaded.source === "generated")
        yield* Effect.logWarning(
          `no ALMANAC_MASTER_KEY: generated a master key into ${loaded.keyFile} (owner-only). Back it up: without it the stored passwords cannot be opened.`
        )
      else yield* Effect.logInfo(`master key from the ${loaded.source} (key id ${loaded.ring.current.id})`)
      let ring = loaded.ring
      const tried = new Set<string>()
      return {
        seal: (accountId, secret) => CredentialVault.seal(ring, accountId, secret),
        open: (accountId, sealed) =>
          CredentialVault.open(ring, accountId, sealed).pipe(
            Effect.catchIf(
              (e) => e.reason === "unknown-key" && !tried.has(CredentialVault.keyIdOf(sealed) ?? ""),
              (e) =>
                Effect.gen(function* () {
                  tried.add(CredentialVault.keyIdOf(sealed) ?? "")
                  const reloaded = yield* loadRing(config).pipe(Effect.orElseFail(() => e))
                  ring = reloaded.ring
                  return yield* CredentialVault.open(ring, accountId, sealed)
                })
            )
          ),
        get currentKeyId() {
          return ring.current.id
        }
      }
    })
  )

export interface RotationReport {
  readonly keyId: string
  readonly resealed: number
  readonly alreadyCurrent: number
  /** Accounts whose secret would not open with any key: left as they are, listed by id. */
  readonly unreadable: ReadonlyArray<string>
}

const AccountSecret = Schema.Struct({ id: Schema.String, secret: Schema.String })

/** The vault binding of a pending OAuth flow's code verifier (store/OAuthStates.ts seals with it). */
export const oauthStateBinding = (stateHash: string): string => `oauth-state:${stateHash}`

/**
 * `almanac vault rotate`. With a key file: a new key is generated and put first in the file,
 * every secret is sealed again under it, then the old keys leave the file. With
 * ALMANAC_MASTER_KEY: the configured key is the new one; the old one must be in
 * ALMANAC_PREVIOUS_MASTER_KEYS (or the key file) while this runs.
 */
export const rotate = (
  config: Pick<ServerConfig, "dataDir" | "masterKey" | "previousMasterKeys">
): Effect.Effect<RotationReport, VaultSetupError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const loaded = yield* loadRing(config)
    let ring = loaded.ring
    if (loaded.source !== "environment") {
      const fresh = keyFor(Redacted.value(CredentialVault.generateKey().key))
      ring = { current: fresh, previous: [loaded.ring.current, ...loaded.ring.previous] }
      // Both keys on disk before anything is re-sealed: a crash in between loses nothing.
      yield* writeKeyFile(loaded.keyFile, [fresh, ...ring.previous])
    }
    const rows = yield* sql`SELECT id, secret FROM accounts WHERE secret IS NOT NULL`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(AccountSecret))),
      Effect.mapError(() => new VaultSetupError({ message: "cannot read the accounts' secrets" }))
    )
    // Sign-in flows under way (ten minutes at most) hold sealed PKCE verifiers: re-sealed too, so a
    // rotation does not break a flow someone is in the middle of.
    const pending = yield* sql`SELECT state_hash AS id, code_verifier AS secret FROM oauth_states`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Array(AccountSecret))),
      Effect.mapError(() => new VaultSetupError({ message: "cannot read the pending sign-in flows" }))
    )
    for (const row of pending) {
      const sealed = yield* CredentialVault.reseal(ring, oauthStateBinding(row.id), row.secret).pipe(
        Effect.option
      )
      // One that does not open cannot be finished anyway; it expires on its own.
      if (Option.isSome(sealed))
        yield* sql`UPDATE oauth_states SET code_verifier = ${sealed.value} WHERE state_hash = ${row.id}`.pipe(
          Effect.mapError(() => new VaultSetupError({ message: "cannot store a re-sealed sign-in flow" }))
        )
    }
    let resealed = 0
    let alreadyCurrent = 0
    const unreadable: Array<string> = []
    for (const row of rows) {
      if (CredentialVault.keyIdOf(row.secret) === ring.current.id) {
        alreadyCurrent++
        continue
      }
      const sealed = yield* CredentialVault.reseal(ring, row.id, row.secret).pipe(Effect.option)
      if (Option.isNone(sealed)) {
        unreadable.push(row.id)
        continue
      }
      yield* sql`UPDATE accounts SET secret = ${sealed.value} WHERE id = ${row.id}`.pipe(
        Effect.mapError(
          () => new VaultSetupError({ message: `cannot store the re-sealed secret of ${row.id}` })
        )
      )
      resealed++
    }
    // An old key leaves the file only when no stored secret names it any more (a server running
    // during the rotation may still have sealed one with it).
    if (loaded.source !== "environment") {
      const inUse = yield* sql`SELECT secret FROM accounts WHERE secret IS NOT NULL`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ secret: Schema.String })))),
        Effect.map((rs) => new Set(rs.map((r) => CredentialVault.keyIdOf(r.secret)))),
        Effect.mapError(() => new VaultSetupError({ message: "cannot read the accounts' secrets" }))
      )
      yield* writeKeyFile(loaded.keyFile, [ring.current, ...ring.previous.filter((k) => inUse.has(k.id))])
    }
    return { keyId: ring.current.id, resealed, alreadyCurrent, unreadable }
  })

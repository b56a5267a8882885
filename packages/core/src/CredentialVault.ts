/**
 * Secrets at rest: app-specific passwords (later OAuth tokens) sealed with AES-256-GCM under a
 * master key. The account id and the key id are authenticated data, so a sealed secret copied
 * onto another account's row does not open. Every sealed value names its key, so the master key
 * can be rotated: open with any key of the ring, seal again with the current one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Effect, Redacted, Schema } from "effect"

const messages = {
  malformed: "the sealed secret is not in a form this vault writes",
  "unknown-key": "the sealed secret names a master key this vault does not have",
  "not-authentic": "the sealed secret does not open: wrong key, another account's secret, or altered",
  "bad-key": "a master key must be 32 bytes"
} as const

/** Why a sealed secret could not be opened. Never carries the secret or the key. */
export class VaultError extends Schema.TaggedError<VaultError>()("VaultError", {
  reason: Schema.Literal("malformed", "unknown-key", "not-authentic", "bad-key")
}) {
  override get message() {
    return messages[this.reason]
  }
}

export interface MasterKey {
  /** Short, stable, not secret: written beside every value sealed with the key. */
  readonly id: string
  readonly key: Redacted.Redacted<Uint8Array>
}

/** The current key seals; every key opens (old ones stay until everything is sealed again). */
export interface KeyRing {
  readonly current: MasterKey
  readonly previous: ReadonlyArray<MasterKey>
}

const VERSION = "v1"
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url")
const aad = (accountId: string, keyId: string) =>
  Buffer.from(`almanac:${VERSION}:${keyId}:${accountId}`, "utf8")

export const makeKey = (id: string, key: Uint8Array): Effect.Effect<MasterKey, VaultError> =>
  key.length === 32 && /^[A-Za-z0-9_-]{1,32}$/.test(id)
    ? Effect.succeed({ id, key: Redacted.make(Uint8Array.from(key)) })
    : Effect.fail(new VaultError({ reason: "bad-key" }))

/** A fresh random key with a random id. */
export const generateKey = (): MasterKey => ({
  id: randomBytes(6).toString("base64url"),
  key: Redacted.make(new Uint8Array(randomBytes(32)))
})

/** Seals `secret` for `accountId` under the ring's current key. */
export const seal = (ring: KeyRing, accountId: string, secret: Redacted.Redacted<string>): string => {
  const { id, key } = ring.current
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", Redacted.value(key), iv)
  cipher.setAAD(aad(accountId, id))
  const body = Buffer.concat([cipher.update(Redacted.value(secret), "utf8"), cipher.final()])
  return [VERSION, id, b64(iv), b64(body), b64(cipher.getAuthTag())].join(".")
}

/** Opens a value sealed for `accountId` with any key of the ring. */
export const open = (
  ring: KeyRing,
  accountId: string,
  sealed: string
): Effect.Effect<Redacted.Redacted<string>, VaultError> =>
  Effect.suspend(() => {
    const parts = sealed.split(".")
    const [version, keyId, iv, body, tag] = parts
    if (
      parts.length !== 5 ||
      version !== VERSION ||
      keyId === undefined ||
      iv === undefined ||
      body === undefined ||
      tag === undefined
    ) {
      return Effect.fail(new VaultError({ reason: "malformed" }))
    }
    const key = [ring.current, ...ring.previous].find((k) => k.id === keyId)
    if (key === undefined) return Effect.fail(new VaultError({ reason: "unknown-key" }))
    try {
      const decipher = createDecipheriv("aes-256-gcm", Redacted.value(key.key), Buffer.from(iv, "base64url"))
      decipher.setAAD(aad(accountId, keyId))
      decipher.setAuthTag(Buffer.from(tag, "base64url"))
      const plain = Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()])
      return Effect.succeed(Redacted.make(plain.toString("utf8")))
    } catch {
      return Effect.fail(new VaultError({ reason: "not-authentic" }))
    }
  })

/** The key id a sealed value names, to find what still needs sealing again after a rotation. */
export const keyIdOf = (sealed: string): string | undefined => sealed.split(".")[1]

/** Opens with the ring and seals again under its current key (rotation). */
export const reseal = (ring: KeyRing, accountId: string, sealed: string): Effect.Effect<string, VaultError> =>
  Effect.map(open(ring, accountId, sealed), (secret) => seal(ring, accountId, secret))

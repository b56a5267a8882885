import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { CredentialVault } from "../src/index.js"

const secret = Redacted.make("abcd-efgh-ijkl-mnop")

describe("CredentialVault", () => {
  const first = CredentialVault.generateKey()
  const ring: CredentialVault.KeyRing = { current: first, previous: [] }

  it.effect("seals and opens, and the sealed text holds neither the secret nor the key", () =>
    Effect.gen(function* () {
      const sealed = CredentialVault.seal(ring, "account-1", secret)
      expect(sealed).not.toContain("abcd")
      expect(sealed).not.toContain(Buffer.from(Redacted.value(first.key)).toString("base64url"))
      expect(CredentialVault.seal(ring, "account-1", secret)).not.toBe(sealed)
      const opened = yield* CredentialVault.open(ring, "account-1", sealed)
      expect(Redacted.value(opened)).toBe("abcd-efgh-ijkl-mnop")
      expect(String(opened)).not.toContain("abcd")
    })
  )

  it.effect("a secret is bound to its account", () =>
    Effect.gen(function* () {
      const sealed = CredentialVault.seal(ring, "account-1", secret)
      const error = yield* Effect.flip(CredentialVault.open(ring, "account-2", sealed))
      expect(error.reason).toBe("not-authentic")
      expect(error.message).not.toContain("abcd")
    })
  )

  it.effect("an altered value does not open", () =>
    Effect.gen(function* () {
      const sealed = CredentialVault.seal(ring, "account-1", secret)
      const parts = sealed.split(".")
      const body = Buffer.from(parts[3] ?? "", "base64url")
      body[0] = (body[0] ?? 0) ^ 1
      parts[3] = body.toString("base64url")
      expect((yield* Effect.flip(CredentialVault.open(ring, "account-1", parts.join(".")))).reason).toBe(
        "not-authentic"
      )
      expect((yield* Effect.flip(CredentialVault.open(ring, "account-1", "v1.x"))).reason).toBe("malformed")
    })
  )

  it.effect("rotation: the old key still opens, resealing moves the value to the new key", () =>
    Effect.gen(function* () {
      const old = CredentialVault.seal(ring, "account-1", secret)
      const next = CredentialVault.generateKey()
      const rotated: CredentialVault.KeyRing = { current: next, previous: [first] }
      const resealed = yield* CredentialVault.reseal(rotated, "account-1", old)
      expect(CredentialVault.keyIdOf(resealed)).toBe(next.id)
      const withoutOld: CredentialVault.KeyRing = { current: next, previous: [] }
      expect(Redacted.value(yield* CredentialVault.open(withoutOld, "account-1", resealed))).toBe(
        "abcd-efgh-ijkl-mnop"
      )
      expect((yield* Effect.flip(CredentialVault.open(withoutOld, "account-1", old))).reason).toBe(
        "unknown-key"
      )
    })
  )

  it.effect("refuses a master key that is not 32 bytes", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(CredentialVault.makeKey("k1", new Uint8Array(16)))).reason).toBe("bad-key")
      const key = yield* CredentialVault.makeKey("k1", new Uint8Array(32).fill(7))
      expect(key.id).toBe("k1")
    })
  )
})

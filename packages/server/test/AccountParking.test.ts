/**
 * Parking an account on a refused credential, on a real SQLite file: a refusal parks a healthy
 * account once; a refusal met by a poll that began before the account resumed (a new password, a
 * refusal that passed) was met on the old credential or the old status, and parks nothing.
 * Seen in a fresh-clone run: a poll queued while the account was parked failed without a request,
 * its outcome landed just after the new password, and the account parked again for good.
 * The request path (free/busy, bookings: AccountClients) parks by the same rule, from the moment
 * the request began; its calendar server here is a fake HTTP client that answers 401.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CalendarProvider, StoreMigrations, SyncStore } from "@almanac/core"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import * as AccountClients from "../src/app/AccountClients.js"
import * as FreeBusyService from "../src/app/FreeBusyService.js"
import * as Accounts from "../src/store/Accounts.js"
import * as ServerMigrations from "../src/store/ServerMigrations.js"
import * as Vault from "../src/Vault.js"

const stores = () => {
  const dataDir = mkdtempSync(join(tmpdir(), "almanac-parking-"))
  const db = Layer.effectDiscard(
    StoreMigrations.run.pipe(Effect.zipRight(ServerMigrations.run), Effect.orDie)
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename: join(dataDir, "almanac.db") }).pipe(Layer.orDie)))
  return Accounts.layer.pipe(
    Layer.provideMerge(
      Vault.layer({ dataDir, masterKey: Option.none(), previousMasterKeys: [] }).pipe(Layer.orDie)
    ),
    Layer.provideMerge(SyncStore.layer),
    Layer.provideMerge(db)
  )
}

/** What the fake calendar server does while a request is in flight, before it answers 401. */
const duringRequest: { effect: Effect.Effect<void, SyncStore.StoreError> } = { effect: Effect.void }

const refusingServer = Layer.succeed(
  HttpClient.HttpClient,
  HttpClient.make((request) =>
    duringRequest.effect.pipe(
      Effect.orDie,
      Effect.as(HttpClientResponse.fromWeb(request, new Response("", { status: 401 })))
    )
  )
)

/** Free/busy over CalDAV accounts only: the provider registry is never asked. */
const requestPath = () =>
  FreeBusyService.layer.pipe(
    Layer.provideMerge(AccountClients.layer({ timeout: "5 seconds" })),
    Layer.provideMerge(
      Layer.succeed(CalendarProvider.ProviderRegistry, {
        open: () => Effect.die("no provider is opened for CalDAV free/busy")
      })
    ),
    Layer.provideMerge(refusingServer),
    Layer.provideMerge(stores())
  )

/** A millisecond later than `t`, by the clock `park` and `setPassword` read. */
const after = (t: number) =>
  Effect.promise(async () => {
    while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1))
  })

/** Ann's CalDAV account at dav.example.net, with the password a re-authentication will replace. */
const insertAnn = (accounts: Accounts.Accounts["Type"], id: string) =>
  accounts.insert(
    {
      id,
      userId: "u",
      kind: "caldav",
      url: "https://dav.example.net/",
      username: "ann",
      displayName: Option.none()
    },
    Redacted.make("old password")
  )

describe("parking an account", () => {
  it.effect("a stale refusal never parks the credential that replaced it", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const id = randomUUID()
      yield* insertAnn(accounts, id)
      const status = Effect.map(
        accounts.byId(id),
        Option.map((a) => [a.status, Option.getOrNull(a.lastError)])
      )

      // A poll that began after the account was made meets a refusal: parked, with its words.
      const firstPoll = Date.now()
      yield* after(firstPoll)
      expect(yield* accounts.park(id, "refused (401)", Date.now())).toBe(true)
      expect(yield* status).toEqual(Option.some(["needs-reauth", "refused (401)"]))
      // Already parked: its words stay.
      expect(yield* accounts.park(id, "refused again", Date.now())).toBe(false)
      expect(yield* status).toEqual(Option.some(["needs-reauth", "refused (401)"]))

      // A poll begins while parked (it fails without a request); the person gives a new password
      // before that poll's outcome is recorded: the outcome parks nothing.
      const queuedPoll = Date.now()
      yield* after(queuedPoll)
      yield* accounts.setPassword(id, Redacted.make("new password"))
      expect(yield* accounts.park(id, "refused (stale)", queuedPoll)).toBe(false)
      expect(yield* status).toEqual(Option.some(["ok", null]))

      // A poll that began after the new password and is refused parks it again.
      const resumed = Date.now()
      yield* after(resumed)
      expect(yield* accounts.park(id, "refused (new)", Date.now())).toBe(true)
      expect(yield* status).toEqual(Option.some(["needs-reauth", "refused (new)"]))

      // A refusal that passed (the stored password works after all) counts as resuming too.
      yield* accounts.setStatus(id, "ok", Option.none())
      expect(yield* accounts.park(id, "refused (stale)", resumed)).toBe(false)
      expect(yield* status).toEqual(Option.some(["ok", null]))
    }).pipe(Effect.provide(stores()))
  )

  it.effect("a refused request that began before a re-authentication does not park the account", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const freeBusy = yield* FreeBusyService.FreeBusyService
      const id = randomUUID()
      yield* insertAnn(accounts, id)
      yield* accounts.saveCalendars(id, [
        { url: "https://dav.example.net/ann/work/", displayName: Option.none(), color: Option.none() }
      ])
      const status = Effect.map(
        accounts.byId(id),
        Option.map((a) => [a.status, Option.getOrNull(a.lastError)])
      )
      const ask = freeBusy
        .forAccount("u", id, { start: "2026-03-02T00:00:00Z", end: "2026-03-03T00:00:00Z" })
        .pipe(Effect.flip)

      // The person gives a new password while a free/busy question is on its way on the old one:
      // the old one's refusal answers that question, and parks nothing.
      // (Suspended: setPassword reads the clock when it is made, and this one is made now.)
      duringRequest.effect = Effect.suspend(() => accounts.setPassword(id, Redacted.make("new password")))
      expect((yield* ask)._tag).toBe("NeedsReauth")
      expect(yield* status).toEqual(Option.some(["ok", null]))

      // A question that begins after the new password and is refused parks the account.
      duringRequest.effect = Effect.void
      yield* after(Date.now())
      expect((yield* ask)._tag).toBe("NeedsReauth")
      expect(yield* status).toEqual(
        Option.some(["needs-reauth", "the calendar server refused the password (status 401)"])
      )
    }).pipe(Effect.provide(requestPath()))
  )
})

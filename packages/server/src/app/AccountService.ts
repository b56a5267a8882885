/**
 * Connecting, checking and removing a user's calendar accounts: what the API's account endpoints
 * (and later the settings pages) do. A password is stored only after discovery proved that it
 * works and found calendars that can hold events, so a stored account is always one that worked
 * once. Removing an account first removes the sync relationships that touch its calendars and
 * tells the engine, then erases the sealed password with the account.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient, type CalDavError, Discovery } from "@almanac/caldav"
import { SyncStore } from "@almanac/core"
import { IcsFeedProvider } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Effect, Either, Layer, Option, Redacted, Ref, Schema } from "effect"
import type { ServerConfig } from "../Config.js"
import { Engine } from "../Engine.js"
import { Push } from "../push/Push.js"
import { type AccountKind, type AccountRecord, Accounts, type CalendarInfo } from "../store/Accounts.js"
import type * as Credential from "../store/Credential.js"
import * as UrlGuard from "../UrlGuard.js"
import { GoogleAuth } from "./GoogleAuth.js"
import { MicrosoftAuth } from "./MicrosoftAuth.js"
import {
  isOAuthKind,
  type OAuthCalendar,
  type OAuthKind,
  type ServiceAuthFailed,
  type ServiceAuthShape,
  services
} from "./OAuthService.js"

export const icloudUrl = "https://caldav.icloud.com/"

// --- errors ------------------------------------------------------------------------------------

export class AccountNotFound extends Schema.TaggedError<AccountNotFound>()("AccountNotFound", {
  accountId: Schema.String
}) {
  override get message() {
    return `no account ${this.accountId}`
  }
}

/** What was given as an app-specific password cannot be one; Apple was not asked. */
export class NotAnAppSpecificPassword extends Schema.TaggedError<NotAnAppSpecificPassword>()(
  "NotAnAppSpecificPassword",
  {}
) {
  override get message() {
    return "not an app-specific password (Apple's have the form xxxx-xxxx-xxxx-xxxx)"
  }
}

/** The calendar server answered 401 to the credentials given (Google, Microsoft: refused the stored grant). */
export class CredentialsRefused extends Schema.TaggedError<CredentialsRefused>()("CredentialsRefused", {
  kind: Schema.Literal("icloud", "caldav", "google", "microsoft"),
  url: Schema.String
}) {
  override get message() {
    return `the ${this.kind} server at ${this.url} refused the credentials`
  }
}

/** No answer, a timeout, a 5xx or a rate limit: trying again later may work. */
export class ServerUnreachable extends Schema.TaggedError<ServerUnreachable>()("ServerUnreachable", {
  url: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `the calendar server at ${this.url} could not be reached or failed; try again later (${this.detail})`
  }
}

/** The server answered, but not as a CalDAV server at that URL (404, an HTML page, a refusal). */
export class NotCalDav extends Schema.TaggedError<NotCalDav>()("NotCalDav", {
  url: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `no CalDAV calendars could be found at ${this.url}; check the URL (the server's address, your principal or your calendar home) (${this.detail})`
  }
}

export class NoEventCalendars extends Schema.TaggedError<NoEventCalendars>()("NoEventCalendars", {
  url: Schema.String
}) {
  override get message() {
    return `the account at ${this.url} has no calendar that can hold events (only task lists or none at all); create a calendar there first`
  }
}

/**
 * The user has this account already (the same server and user name, the same Apple ID, or an
 * account whose calendars are among the ones found): connecting it twice would copy every event
 * twice.
 */
export class AlreadyConnected extends Schema.TaggedError<AlreadyConnected>()("AlreadyConnected", {
  accountId: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `already connected as "${this.name}" (account ${this.accountId})`
  }
}

/** An OAuth account has no password to change: its access is renewed by connecting it again. */
export class NoPassword extends Schema.TaggedError<NoPassword>()("NoPassword", {
  accountId: Schema.String,
  kind: Schema.Literal("google", "microsoft")
}) {
  override get message() {
    return `account ${this.accountId} is a ${this.kind} account and has no password`
  }
}

/** The URL answered, but not with a feed that can be read (a web page, a 404, a refusal, too large). */
export class FeedUnreadable extends Schema.TaggedError<FeedUnreadable>()("FeedUnreadable", {
  url: Schema.String,
  reason: IcsFeedProvider.FeedReason,
  detail: Schema.String
}) {
  override get message() {
    return `no calendar feed could be read at ${this.url}: ${this.detail}`
  }
}

/** Why a connection (or a re-authentication) did not happen. Nothing was stored. */
export type ConnectError =
  | UrlGuard.UrlRejected
  | FeedUnreadable
  | NotAnAppSpecificPassword
  | CredentialsRefused
  | ServerUnreachable
  | NotCalDav
  | NoEventCalendars
  | NoPassword

/** A calendar an account offers, however it was found (CalDAV discovery, Google's calendar list). */
export interface FoundCalendar {
  readonly url: string
  readonly displayName: Option.Option<string>
  readonly color: Option.Option<string>
  readonly writable?: boolean
  readonly timeZone?: Option.Option<string>
}

// --- models ------------------------------------------------------------------------------------

/** A calendar of an account with what the sync engine knows about it. */
export interface CalendarState extends CalendarInfo {
  readonly lastPollAt: Option.Option<number>
  readonly lastSuccessAt: Option.Option<number>
  readonly lastError: Option.Option<string>
  /** Why the mass-delete stop halted this calendar, until a person confirms. */
  readonly halted: Option.Option<string>
  readonly quarantined: number
  /** Whether any sync relationship has this calendar as its source or target. */
  readonly inRelationship: boolean
}

export interface AccountWithCalendars {
  readonly account: AccountRecord
  readonly calendars: ReadonlyArray<CalendarState>
}

export interface AccountServiceShape {
  readonly connectICloud: (input: {
    readonly userId: string
    readonly appleId: string
    readonly appSpecificPassword: Redacted.Redacted<string>
    readonly name: Option.Option<string>
  }) => Effect.Effect<AccountWithCalendars, ConnectError | AlreadyConnected | SyncStore.StoreError>
  /**
   * Subscribes to an iCalendar feed (https://, webcal://; user:password@ in the URL is HTTP Basic,
   * https only): read once to prove it is a calendar, then stored as an account of kind "ics" with
   * one read-only calendar, a source for one-way syncs only.
   */
  readonly subscribeFeed: (input: {
    readonly userId: string
    readonly url: string
    readonly name: Option.Option<string>
  }) => Effect.Effect<AccountWithCalendars, ConnectError | AlreadyConnected | SyncStore.StoreError>
  readonly connectCalDav: (input: {
    readonly userId: string
    readonly url: string
    readonly username: string
    readonly password: Redacted.Redacted<string>
    readonly name: Option.Option<string>
  }) => Effect.Effect<AccountWithCalendars, ConnectError | AlreadyConnected | SyncStore.StoreError>
  /**
   * Stores an account whose credential was obtained elsewhere (OAuth) with the calendars found
   * for it. The same account again (same user, kind and user name) is renewed instead: the new
   * credential replaces the old one, the account is healthy again and its parked calendars poll.
   */
  readonly adopt: (input: {
    readonly userId: string
    readonly kind: AccountKind
    readonly url: string
    readonly username: string
    readonly name: string
    readonly credential: Credential.OAuth
    readonly calendars: ReadonlyArray<FoundCalendar>
  }) => Effect.Effect<AccountWithCalendars & { readonly renewed: boolean }, SyncStore.StoreError>
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<AccountRecord>, SyncStore.StoreError>
  readonly get: (
    userId: string,
    accountId: string
  ) => Effect.Effect<AccountRecord, AccountNotFound | SyncStore.StoreError>
  /** A new password, proved by discovery before it replaces the stored one; parked calendars resume. */
  readonly reauthenticate: (
    userId: string,
    accountId: string,
    password: Redacted.Redacted<string>
  ) => Effect.Effect<AccountWithCalendars, AccountNotFound | ConnectError | SyncStore.StoreError>
  /** Discovery again with the stored password: new calendars appear, names and colours follow the server. */
  readonly refresh: (
    userId: string,
    accountId: string
  ) => Effect.Effect<AccountWithCalendars, AccountNotFound | ConnectError | SyncStore.StoreError>
  /**
   * Removes the relationships touching the account's calendars (copies they wrote stay where they
   * are), then the account, its calendars and its sealed password.
   */
  readonly remove: (
    userId: string,
    accountId: string
  ) => Effect.Effect<void, AccountNotFound | SyncStore.StoreError>
  readonly calendars: (
    userId: string,
    accountId: string
  ) => Effect.Effect<ReadonlyArray<CalendarState>, AccountNotFound | SyncStore.StoreError>
}

export class AccountService extends Context.Tag("@almanac/server/AccountService")<
  AccountService,
  AccountServiceShape
>() {}

// --- helpers -----------------------------------------------------------------------------------

/**
 * Apple's app-specific passwords are four groups of four lowercase letters. Returns the dashed
 * form (as Apple shows it), or none when the text cannot be one.
 */
export const normaliseAppSpecificPassword = (text: string): Option.Option<string> => {
  const m = /^([a-z]{4})-?([a-z]{4})-?([a-z]{4})-?([a-z]{4})$/.exec(text.trim())
  return m === null ? Option.none() : Option.some(m.slice(1, 5).join("-"))
}

const hostOf = (url: URL): string => url.host

/**
 * A URL as two spellings of the same place compare: the URL parser already lower-cases scheme
 * and host and drops a default port; a trailing slash and a fragment do not make another place.
 */
export const sameUrlKey = (url: string): string => {
  try {
    const u = new URL(url.trim())
    u.hash = ""
    u.pathname = u.pathname.replace(/\/+$/, "")
    return u.href
  } catch {
    return url.trim()
  }
}

/** Apple IDs are email addresses: their case does not make another account. */
const sameUserKey = (url: string, username: string): string =>
  new URL(sameUrlKey(url)).host === new URL(icloudUrl).host ? username.trim().toLowerCase() : username.trim()

const nameOf = (a: AccountRecord): string =>
  Option.getOrElse(a.displayName, () => `${a.username} on ${a.url}`)

/** An OAuth service's calendars as the account's calendars: the calendar id is the calendar's ref (kept in `url`). */
export const oauthFound = (listed: ReadonlyArray<OAuthCalendar>): ReadonlyArray<FoundCalendar> =>
  listed.map((c) => ({
    url: c.id,
    displayName: c.summary,
    color: c.color,
    writable: c.writable,
    timeZone: c.timeZone
  }))

/** The kinds that connect with a password (CalDAV underneath). */
type PasswordKind = Exclude<AccountKind, OAuthKind | "ics">

// --- service -----------------------------------------------------------------------------------

export const make = (
  config: Pick<ServerConfig, "allowPrivateUrls" | "requestTimeout">
): Effect.Effect<
  AccountServiceShape,
  never,
  Accounts | SyncStore.SyncStore | Engine | SqlClient.SqlClient | HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const store = yield* SyncStore.SyncStore
    const engine = yield* Engine
    // Present in the server: a removed account's push channels are stopped while its tokens still work.
    const push = yield* Effect.serviceOption(Push)
    const sql = yield* SqlClient.SqlClient
    const http = yield* Effect.context<HttpClient.HttpClient>()
    // Present only when the service's client is configured.
    const oauthServices: Record<OAuthKind, Option.Option<ServiceAuthShape>> = {
      google: yield* Effect.serviceOption(GoogleAuth),
      microsoft: yield* Effect.serviceOption(MicrosoftAuth)
    }
    const guard = UrlGuard.make({ allowPrivateUrls: config.allowPrivateUrls })

    const storeError = (operation: string) => (e: { readonly message: string }) =>
      new SyncStore.StoreError({ operation, detail: e.message })

    // SQLite keeps deleted rows in free pages and old page images in the WAL; with secure_delete
    // a removed secret is overwritten with zeros, and the checkpoint after a removal empties the
    // WAL. Other databases manage their own pages.
    const sqliteOnly = (statement: string): Effect.Effect<void, SqlError.SqlError> =>
      sql.onDialectOrElse({
        sqlite: () => sql.unsafe(statement).pipe(Effect.asVoid),
        orElse: () => Effect.void
      })
    yield* sqliteOnly("PRAGMA secure_delete = ON").pipe(
      Effect.catchAll((e) => Effect.logWarning("could not turn on SQLite secure_delete", e.message))
    )

    const owned = (userId: string, accountId: string) =>
      accounts.get(userId, accountId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new AccountNotFound({ accountId })),
            onSome: Effect.succeed
          })
        )
      )

    const stateOf = (c: CalendarInfo) =>
      Effect.gen(function* () {
        const record = yield* store.calendar(c.id)
        const quarantined = yield* store.quarantined(c.id)
        const relationships = yield* store.relationshipsOf(c.id)
        const state: CalendarState = {
          ...c,
          lastPollAt: Option.flatMap(record, (r) => r.lastPollAt),
          lastSuccessAt: Option.flatMap(record, (r) => r.lastSuccessAt),
          lastError: Option.flatMap(record, (r) => r.lastError),
          halted: Option.flatMap(record, (r) => r.halted),
          quarantined: quarantined.length,
          inRelationship: relationships.asSource.length + relationships.asTarget.length > 0
        }
        return state
      })

    const states = (calendars: ReadonlyArray<CalendarInfo>) => Effect.forEach(calendars, stateOf)

    const fromCalDav =
      (kind: PasswordKind, url: URL, refusals: Ref.Ref<ReadonlyArray<UrlGuard.UrlRejected>>) =>
      (e: CalDavError.CalDavError): Effect.Effect<never, ConnectError> =>
        Effect.gen(function* () {
          const shown = UrlGuard.shown(url)
          switch (e._tag) {
            case "Unauthorized":
              return yield* new CredentialsRefused({ kind, url: shown })
            case "Transient":
            case "RateLimited":
              return yield* new ServerUnreachable({ url: shown, detail: e.message })
            case "ProtocolError": {
              // A redirect or a server-named URL the guard refused: the guard's reason, not "unusable answer".
              const refused = (yield* Ref.get(refusals)).find((r) => r.url === e.url)
              if (refused !== undefined) return yield* refused
              return yield* new NotCalDav({ url: shown, detail: e.message })
            }
            default:
              return yield* new NotCalDav({ url: shown, detail: e.message })
          }
        })

    /** A feed's failure as a connection error: a refused URL is the guard's, trouble on the way is retryable. */
    const fromFeed = (e: IcsFeedProvider.FeedFailed): ConnectError => {
      switch (e.reason) {
        case "refused-url":
          return new UrlGuard.UrlRejected({ url: e.url, reason: e.detail })
        case "network":
        case "timeout":
        case "rate-limited":
          return new ServerUnreachable({ url: e.url, detail: e.detail })
        default:
          return e.reason === "http-status" && (e.status ?? 0) >= 500
            ? new ServerUnreachable({ url: e.url, detail: e.detail })
            : new FeedUnreadable({ url: e.url, reason: e.reason, detail: e.detail })
      }
    }

    /** The feed read once, through the guard (every redirect hop too). */
    const readFeed = (url: URL, auth: Option.Option<IcsFeedProvider.FeedAuth>) =>
      IcsFeedProvider.make({
        url,
        auth: Option.getOrUndefined(auth),
        timeout: config.requestTimeout,
        checkUrl: guard.checkUrl
      }).pipe(
        Effect.flatMap((feed) => feed.read),
        Effect.provide(http),
        Effect.mapError(fromFeed)
      )

    const feedName = (url: URL, read: IcsFeedProvider.FeedRead) =>
      Option.getOrElse(read.name, () => `Feed on ${hostOf(url)}`)

    /** The stored user name and password of a feed account, when its URL had them. */
    const feedAuth = (account: AccountRecord) =>
      Effect.gen(function* () {
        if (account.username === "") return Option.none<IcsFeedProvider.FeedAuth>()
        const password = yield* accounts.password(account.id).pipe(
          Effect.catchTags({
            VaultError: (e) => Effect.fail(storeError("open the stored password")(e)),
            CredentialUnreadable: (e) => Effect.fail(storeError("open the stored password")(e))
          })
        )
        return Option.map(password, (p) => ({ user: account.username, password: p }))
      })

    /** Discovery with these credentials; the event calendars it found, or why there are none. */
    const discover = (kind: PasswordKind, url: URL, username: string, password: Redacted.Redacted<string>) =>
      Effect.gen(function* () {
        const refusals = yield* Ref.make<ReadonlyArray<UrlGuard.UrlRejected>>([])
        const client = yield* CalDavClient.make({
          auth: { user: username, password },
          timeout: config.requestTimeout,
          checkUrl: (u) =>
            guard.checkUrl(u).pipe(Effect.tapError((r) => Ref.update(refusals, (all) => [...all, r])))
        }).pipe(Effect.provide(http))
        const found = yield* client.discover(url.href).pipe(Effect.catchAll(fromCalDav(kind, url, refusals)))
        const calendars = found.calendars.filter(Discovery.supportsEvents)
        if (calendars.length === 0) return yield* new NoEventCalendars({ url: UrlGuard.shown(url) })
        return calendars
      })

    const asSaved = (found: ReadonlyArray<Discovery.CalendarInfo>) =>
      found.map((c) => ({ url: c.url, displayName: c.displayName, color: c.color }))

    /**
     * Records what discovery found. Calendars the server no longer lists are dropped unless a
     * relationship uses them (their polls then say what is wrong); a calendar that comes back gets
     * its old id again, since ids are derived from account and URL.
     */
    const applyDiscovery = (accountId: string, found: ReadonlyArray<FoundCalendar>) =>
      Effect.gen(function* () {
        const saved = yield* accounts.saveCalendars(accountId, found)
        const listed = new Set(found.map((c) => c.url))
        const kept: Array<CalendarState> = []
        for (const calendar of yield* states(saved)) {
          // Dropped: its id is this account's (made from account and URL); the engine forgets its rows.
          if (listed.has(calendar.url) || calendar.inRelationship) kept.push(calendar)
          else
            yield* store
              .forgetCalendars([calendar.id])
              .pipe(
                Effect.mapError((e) =>
                  storeError("drop a calendar the server no longer lists")({ message: e.detail })
                )
              )
        }
        return kept
      })

    const connect = (input: {
      readonly userId: string
      readonly kind: PasswordKind
      readonly url: URL
      readonly username: string
      readonly password: Redacted.Redacted<string>
      readonly name: string
    }) =>
      Effect.gen(function* () {
        const mine = yield* accounts.list(input.userId)
        const key = (url: string, username: string) => `${sameUrlKey(url)} ${sameUserKey(url, username)}`
        const wanted = key(input.url.href, input.username)
        const existing = mine.find((a) => key(a.url, a.username) === wanted)
        if (existing !== undefined)
          return yield* new AlreadyConnected({ accountId: existing.id, name: nameOf(existing) })
        const found = yield* discover(input.kind, input.url, input.username, input.password)
        // Another way in to the same calendars (the server's root, then the calendar home): each
        // would get its own copy of every event.
        const foundUrls = new Set(found.map((c) => sameUrlKey(c.url)))
        for (const a of mine) {
          const theirs = yield* accounts.calendars(a.id)
          if (theirs.some((c) => foundUrls.has(sameUrlKey(c.url))))
            return yield* new AlreadyConnected({ accountId: a.id, name: nameOf(a) })
        }
        const id = randomUUID()
        const { account, saved } = yield* Effect.gen(function* () {
          const account = yield* accounts.insert(
            {
              id,
              userId: input.userId,
              kind: input.kind,
              url: input.url.href,
              username: input.username,
              displayName: Option.some(input.name)
            },
            input.password
          )
          const saved = yield* accounts.saveCalendars(id, asSaved(found))
          return { account, saved }
        }).pipe(
          sql.withTransaction,
          Effect.catchTag("SqlError", (e) => Effect.fail(storeError("save account")(e)))
        )
        yield* Effect.logInfo(`account connected with ${saved.length} calendars`).pipe(
          Effect.annotateLogs({ account: id, kind: input.kind })
        )
        return { account, calendars: yield* states(saved) }
      })

    const calendarsInRelationships = (accountId: string) =>
      Effect.gen(function* () {
        const calendars = yield* accounts.calendars(accountId)
        const involved = new Set<string>()
        const relationships = new Set<string>()
        for (const c of calendars) {
          const rs = yield* store.relationshipsOf(c.id)
          for (const r of [...rs.asSource, ...rs.asTarget]) {
            relationships.add(r.id)
            involved.add(r.sourceCalendarId)
            involved.add(r.targetCalendarId)
          }
        }
        return { own: calendars, involved, relationships }
      })

    /**
     * Calendars parked on a refused credential poll again now: the account's own, and those on the
     * other side of their relationships, whose polls park too when a write to this account is refused.
     */
    const resume = (calendars: ReadonlyArray<CalendarState>) =>
      Effect.gen(function* () {
        const own = calendars.filter((c) => c.inRelationship).map((c) => c.id)
        const partners = yield* Effect.forEach(own, (id) =>
          Effect.map(store.relationshipsOf(id), ({ asSource, asTarget }) => [
            ...asSource.map((r) => r.targetCalendarId),
            ...asTarget.map((r) => r.sourceCalendarId)
          ])
        )
        yield* Effect.forEach(
          new Set([...own, ...partners.flat()]),
          (id) => Effect.zipRight(engine.refresh(id), engine.syncNow(id)),
          { discard: true }
        )
        if (Option.isSome(push)) yield* push.value.soon
      })

    /** An OAuth account's calendars, with an access token refreshed when it is about to expire. */
    const oauthCalendars = (account: AccountRecord, kind: OAuthKind) =>
      Effect.gen(function* () {
        const service = oauthServices[kind]
        if (Option.isNone(service))
          return yield* new ServerUnreachable({
            url: account.url,
            detail: `no ${services[kind].label} client is configured on this server (${services[kind].settings[0]})`
          })
        const credential = yield* accounts.credential(account.id).pipe(
          Effect.catchTags({
            VaultError: (e) => Effect.fail(storeError("open the stored tokens")(e)),
            CredentialUnreadable: (e) => Effect.fail(storeError("open the stored tokens")(e))
          })
        )
        if (Option.isNone(credential) || credential.value._tag !== "oauth")
          return yield* new CredentialsRefused({ kind, url: account.url })
        const found = yield* service.value
          .discover(credential.value, (next) => accounts.saveTokens(account.id, next))
          .pipe(
            Effect.mapError((e: ServiceAuthFailed) =>
              e.reason === "refused"
                ? new CredentialsRefused({ kind, url: account.url })
                : new ServerUnreachable({ url: account.url, detail: e.message })
            )
          )
        return oauthFound(found.calendars)
      })

    /**
     * Removing an OAuth account ends its grant at the service too where the service can (Google);
     * best effort, never the token in the log. Microsoft has no such endpoint: the log says where
     * the person withdraws it.
     */
    const revokeAtService = (account: AccountRecord) =>
      Effect.gen(function* () {
        const kind = account.kind
        if (!isOAuthKind(kind)) return
        const info = services[kind]
        const credential = yield* accounts.credential(account.id)
        if (Option.isNone(credential) || credential.value._tag !== "oauth") return
        const service = oauthServices[kind]
        if (Option.isNone(service))
          return yield* Effect.logWarning(
            `no ${info.label} client configured: the removed account's grant was not revoked at ${info.label}`
          )
        if (Option.isNone(service.value.revoke))
          return yield* Effect.logInfo(
            `${info.label} offers apps no way to revoke their access; the person withdraws it at ${info.withdraw}`
          )
        yield* service.value.revoke.value(credential.value.refreshToken)
        yield* Effect.logInfo(`${info.label} access revoked`)
      }).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning(
            "could not revoke the removed account's access at its service; the person can withdraw it there",
            e._tag === "ServiceAuthFailed" ? `${e.service} ${e.step} ${e.reason}: ${e.detail}` : e._tag
          )
        ),
        Effect.annotateLogs({ account: account.id })
      )

    return {
      adopt: (input) =>
        Effect.gen(function* () {
          const existing = (yield* accounts.list(input.userId)).find(
            (a) => a.kind === input.kind && a.username === input.username
          )
          if (existing !== undefined) {
            yield* accounts.saveTokens(existing.id, input.credential)
            yield* accounts.setStatus(existing.id, "ok", Option.none())
            const calendars = yield* applyDiscovery(existing.id, input.calendars)
            yield* resume(calendars)
            yield* Effect.logInfo("account connected again").pipe(
              Effect.annotateLogs({ account: existing.id, kind: input.kind })
            )
            const account: AccountRecord = { ...existing, status: "ok", lastError: Option.none() }
            return { account, calendars, renewed: true }
          }
          const id = randomUUID()
          const { account, saved } = yield* Effect.gen(function* () {
            const account = yield* accounts.insertCredential(
              {
                id,
                userId: input.userId,
                kind: input.kind,
                url: input.url,
                username: input.username,
                displayName: Option.some(input.name)
              },
              input.credential
            )
            const saved = yield* accounts.saveCalendars(id, input.calendars)
            return { account, saved }
          }).pipe(
            sql.withTransaction,
            Effect.catchTag("SqlError", (e) => Effect.fail(storeError("save account")(e)))
          )
          yield* Effect.logInfo(`account connected with ${saved.length} calendars`).pipe(
            Effect.annotateLogs({ account: id, kind: input.kind })
          )
          return { account, calendars: yield* states(saved), renewed: false }
        }),
      connectICloud: (input) =>
        Effect.gen(function* () {
          const password = normaliseAppSpecificPassword(Redacted.value(input.appSpecificPassword))
          if (Option.isNone(password)) return yield* new NotAnAppSpecificPassword()
          const url = yield* guard.check(icloudUrl)
          const appleId = input.appleId.trim()
          return yield* connect({
            userId: input.userId,
            kind: "icloud",
            url,
            username: appleId,
            password: Redacted.make(password.value),
            name: Option.getOrElse(input.name, () => `iCloud (${appleId})`)
          })
        }),
      subscribeFeed: (input) =>
        Effect.gen(function* () {
          const subscription = yield* Either.match(IcsFeedProvider.subscription(input.url), {
            onLeft: (e) => Effect.fail(fromFeed(e)),
            onRight: Effect.succeed
          })
          const url = yield* guard.check(subscription.url.href)
          const username = Option.match(subscription.auth, { onNone: () => "", onSome: (a) => a.user })
          const existing = (yield* accounts.list(input.userId)).find(
            (a) => a.kind === "ics" && sameUrlKey(a.url) === sameUrlKey(url.href) && a.username === username
          )
          if (existing !== undefined)
            return yield* new AlreadyConnected({ accountId: existing.id, name: nameOf(existing) })
          const read = yield* readFeed(url, subscription.auth)
          const id = randomUUID()
          const record = {
            id,
            userId: input.userId,
            kind: "ics" as const,
            url: url.href,
            username,
            displayName: Option.some(Option.getOrElse(input.name, () => feedName(url, read)))
          }
          const { account, saved } = yield* Effect.gen(function* () {
            const account = yield* Option.match(subscription.auth, {
              onNone: () => accounts.insertWithoutSecret(record),
              onSome: (auth) => accounts.insert(record, auth.password)
            })
            const saved = yield* accounts.saveCalendars(id, [
              {
                url: url.href,
                displayName: Option.some(feedName(url, read)),
                color: Option.none(),
                writable: false
              }
            ])
            return { account, saved }
          }).pipe(
            sql.withTransaction,
            Effect.catchTag("SqlError", (e) => Effect.fail(storeError("save account")(e)))
          )
          yield* Effect.logInfo(`feed subscribed with ${read.items.length} events`).pipe(
            Effect.annotateLogs({ account: id, kind: "ics" })
          )
          return { account, calendars: yield* states(saved) }
        }),
      connectCalDav: (input) =>
        Effect.gen(function* () {
          const url = yield* guard.check(input.url)
          return yield* connect({
            userId: input.userId,
            kind: "caldav",
            url,
            username: input.username,
            password: input.password,
            name: Option.getOrElse(input.name, () => `${input.username} on ${hostOf(url)}`)
          })
        }),
      list: accounts.list,
      get: owned,
      reauthenticate: (userId, accountId, given) =>
        Effect.gen(function* () {
          const account = yield* owned(userId, accountId)
          if (isOAuthKind(account.kind)) return yield* new NoPassword({ accountId, kind: account.kind })
          if (account.kind === "ics") {
            // The password of a feed whose URL had one: proved by reading the feed with it.
            const url = yield* guard.check(account.url)
            const read = yield* readFeed(url, Option.some({ user: account.username, password: given }))
            yield* accounts.setPassword(accountId, given)
            const calendars = yield* applyDiscovery(accountId, [
              {
                url: url.href,
                displayName: Option.some(feedName(url, read)),
                color: Option.none(),
                writable: false
              }
            ])
            yield* resume(calendars)
            return { account: yield* owned(userId, accountId), calendars }
          }
          const kind: PasswordKind = account.kind
          let password = given
          if (account.kind === "icloud") {
            const normalised = normaliseAppSpecificPassword(Redacted.value(given))
            if (Option.isNone(normalised)) return yield* new NotAnAppSpecificPassword()
            password = Redacted.make(normalised.value)
          }
          const url = yield* guard.check(account.url)
          const found = yield* discover(kind, url, account.username, password)
          yield* accounts.setPassword(accountId, password)
          const calendars = yield* applyDiscovery(accountId, asSaved(found))
          yield* resume(calendars)
          yield* Effect.logInfo("account re-authenticated").pipe(Effect.annotateLogs({ account: accountId }))
          return { account: yield* owned(userId, accountId), calendars }
        }),
      refresh: (userId, accountId) =>
        Effect.gen(function* () {
          const account = yield* owned(userId, accountId)
          if (isOAuthKind(account.kind)) {
            const refusedBy = services[account.kind].label
            const listed = yield* oauthCalendars(account, account.kind).pipe(
              Effect.tapErrorTag("CredentialsRefused", () =>
                accounts.setStatus(
                  accountId,
                  "needs-reauth",
                  Option.some(`${refusedBy} refused the stored access`)
                )
              )
            )
            const calendars = yield* applyDiscovery(accountId, listed)
            if (account.status === "needs-reauth") {
              yield* accounts.setStatus(accountId, "ok", Option.none())
              yield* resume(calendars)
            }
            return { account: yield* owned(userId, accountId), calendars }
          }
          if (account.kind === "ics") {
            const url = yield* guard.check(account.url)
            const read = yield* readFeed(url, yield* feedAuth(account)).pipe(
              Effect.tapError((e) =>
                e._tag === "FeedUnreadable" && e.reason === "unauthorized"
                  ? accounts.setStatus(accountId, "needs-reauth", Option.some(e.detail))
                  : Effect.void
              )
            )
            const calendars = yield* applyDiscovery(accountId, [
              {
                url: url.href,
                displayName: Option.some(feedName(url, read)),
                color: Option.none(),
                writable: false
              }
            ])
            if (account.status === "needs-reauth") {
              yield* accounts.setStatus(accountId, "ok", Option.none())
              yield* resume(calendars)
            }
            return { account: yield* owned(userId, accountId), calendars }
          }
          const kind: PasswordKind = account.kind
          const password = yield* accounts.password(accountId).pipe(
            Effect.catchTags({
              VaultError: (e) => Effect.fail(storeError("open the stored password")(e)),
              CredentialUnreadable: (e) => Effect.fail(storeError("open the stored password")(e))
            })
          )
          if (Option.isNone(password))
            return yield* new SyncStore.StoreError({
              operation: "open the stored password",
              detail: "the account has no stored password"
            })
          const url = yield* guard.check(account.url)
          const found = yield* discover(kind, url, account.username, password.value).pipe(
            Effect.tapErrorTag("CredentialsRefused", () =>
              accounts.setStatus(
                accountId,
                "needs-reauth",
                Option.some("the server refused the stored password")
              )
            )
          )
          const calendars = yield* applyDiscovery(accountId, asSaved(found))
          // The stored password works after all (a refusal that has passed): the account is healthy again.
          if (account.status === "needs-reauth") {
            yield* accounts.setStatus(accountId, "ok", Option.none())
            yield* resume(calendars)
          }
          return { account: yield* owned(userId, accountId), calendars }
        }),
      remove: (userId, accountId) =>
        Effect.gen(function* () {
          const account = yield* owned(userId, accountId)
          const { involved, own, relationships } = yield* calendarsInRelationships(accountId)
          // All of them or none: a failure halfway leaves the account as it was.
          yield* Effect.forEach(relationships, store.deleteRelationship, { discard: true }).pipe(
            sql.withTransaction,
            Effect.catchTag("SqlError", (e) =>
              Effect.fail(storeError("remove the account's relationships")(e))
            )
          )
          // Actors of both ends learn that these relationships are gone before the rows of the account go.
          for (const id of new Set([...involved, ...own.map((c) => c.id)])) yield* engine.refresh(id)
          if (Option.isSome(push)) yield* push.value.forget(accountId)
          yield* revokeAtService(account)
          yield* sqliteOnly("PRAGMA secure_delete = ON").pipe(
            Effect.mapError(storeError("prepare the secure removal"))
          )
          yield* accounts.remove(accountId)
          yield* sqliteOnly("PRAGMA wal_checkpoint(TRUNCATE)").pipe(
            Effect.catchAll((e) =>
              Effect.logWarning("WAL checkpoint after an account removal failed", e.message)
            )
          )
          yield* Effect.logInfo(`account removed with ${relationships.size} relationships`).pipe(
            Effect.annotateLogs({ account: accountId })
          )
        }),
      calendars: (userId, accountId) =>
        Effect.gen(function* () {
          yield* owned(userId, accountId)
          return yield* states(yield* accounts.calendars(accountId))
        })
    }
  })

export const layer = (
  config: Pick<ServerConfig, "allowPrivateUrls" | "requestTimeout">
): Layer.Layer<
  AccountService,
  never,
  Accounts | SyncStore.SyncStore | Engine | SqlClient.SqlClient | HttpClient.HttpClient
> => Layer.effect(AccountService, make(config))

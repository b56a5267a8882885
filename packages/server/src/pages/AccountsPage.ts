/**
 * The accounts page: what is connected, and the ways to connect more (iCloud with an Apple ID
 * and an app-specific password, any CalDAV server, Google through its consent page, or a subscribed
 * iCalendar feed). A refused connection comes back as the same page with the reason next to the
 * form and everything typed kept, except the password (a feed URL is re-shown without one).
 */
import { Effect, Either, Option } from "effect"
import { AccountService, type AlreadyConnected, type ConnectError } from "../app/AccountService.js"
import { OAuthConnect, type OAuthNotConfigured } from "../app/OAuthConnect.js"
import { isOAuthKind, type OAuthKind, services } from "../app/OAuthService.js"
import { type AccountRecord, Accounts } from "../store/Accounts.js"
import type { User } from "../store/Users.js"
import { accountName } from "./Catalogue.js"
import * as Handler from "./Handler.js"
import { type Fragment, html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Problems from "./Problems.js"

export interface IcloudValues {
  readonly appleId: string
  readonly name: string
}
export interface CaldavValues {
  readonly url: string
  readonly username: string
  readonly name: string
}

export interface FeedValues {
  readonly url: string
  readonly name: string
}

/** One of the connect forms, re-shown after a refusal. */
export type Refused =
  | { readonly form: "icloud"; readonly values: IcloudValues; readonly error: string }
  | { readonly form: "caldav"; readonly values: CaldavValues; readonly error: string }
  | { readonly form: "ics"; readonly values: FeedValues; readonly error: string }

export const kindName = (a: AccountRecord): string =>
  a.kind === "icloud"
    ? "iCloud"
    : isOAuthKind(a.kind)
      ? services[a.kind].label
      : a.kind === "ics"
        ? "Feed"
        : "CalDAV"

export type OAuthSetup = Either.Either<{ readonly redirectUri: string }, OAuthNotConfigured>

const oauthSection = (kind: OAuthKind, setup: OAuthSetup) => {
  const info = services[kind]
  return html`<section aria-labelledby="${kind}-h">
<h2 id="${kind}-h">${info.connect}</h2>
${Either.match(setup, {
  onRight: () => html`<form method="post" action="/accounts/${kind}">
<label for="${kind}-name">Name on these pages <span class="muted">(optional)</span></label>
<input id="${kind}-name" name="name" type="text">
<p class="hint">${info.accessLine}</p>
<div class="actions"><button type="submit">${info.connect}</button></div>
</form>`,
  onLeft: (e) =>
    e.missing === "public-url"
      ? html`<p class="muted">Connecting ${info.label} needs <code>ALMANAC_PUBLIC_URL</code>: the address browsers reach this server at, since ${info.label} sends them back to it. Set it and restart the server.</p>`
      : html`<p class="muted">Connecting ${info.label} needs an OAuth client registered with ${info.label}. To register one: ${info.howToRegister(e.redirectUri)}. Then restart the server.</p>`
})}
</section>`
}

export const accountState = (a: AccountRecord): Fragment =>
  a.status === "ok"
    ? html`<span class="tag ok">connected</span>`
    : html`<span class="tag bad">needs a new password</span>${Option.match(a.lastError, {
        onNone: () => "",
        onSome: (e) => html`<div class="hint bad">${e}</div>`
      })}`

const list = (accounts: ReadonlyArray<AccountRecord>) =>
  accounts.length === 0
    ? html`<p class="muted">No accounts yet. Connect one below.</p>`
    : html`<table class="list">
<thead><tr><th scope="col">Account</th><th scope="col">Kind</th><th scope="col">User</th><th scope="col">State</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
<tbody>${accounts.map(
        (a) => html`<tr>
<td>${accountName(a)}</td><td data-label="Kind">${kindName(a)}</td><td data-label="User">${a.username}</td><td data-label="State">${accountState(a)}</td>
<td><a href="/accounts/${encodeURIComponent(a.id)}">Calendars and settings</a></td></tr>`
      )}</tbody></table>`

const error = (message: string | undefined) =>
  message === undefined ? "" : html`<p class="error" role="alert">${message}</p>`

const icloudForm = (
  values: IcloudValues,
  message: string | undefined
) => html`<section aria-labelledby="icloud-h">
<h2 id="icloud-h">Connect iCloud</h2>
${error(message)}
<form method="post" action="/accounts/icloud">
<label for="icloud-apple-id">Apple ID</label>
<input id="icloud-apple-id" name="appleId" type="email" autocomplete="username" required value="${values.appleId}">
<label for="icloud-password">App-specific password</label>
<input id="icloud-password" name="password" type="password" autocomplete="off" required placeholder="xxxx-xxxx-xxxx-xxxx">
<p class="hint">Create one at <strong>appleid.apple.com</strong> → <strong>Sign-In and Security</strong> →
<strong>App-Specific Passwords</strong> (your Apple ID needs two-factor authentication). Your normal Apple ID
password does not work here, and you can revoke the app-specific password there at any time.</p>
<label for="icloud-name">Name on these pages <span class="muted">(optional)</span></label>
<input id="icloud-name" name="name" type="text" value="${values.name}">
<div class="actions"><button type="submit">Connect iCloud</button></div>
</form>
</section>`

const caldavForm = (
  values: CaldavValues,
  message: string | undefined
) => html`<section aria-labelledby="caldav-h">
<h2 id="caldav-h">Connect a CalDAV server</h2>
${error(message)}
<form method="post" action="/accounts/caldav">
<label for="caldav-url">Server or calendar home URL</label>
<input id="caldav-url" name="url" type="url" required placeholder="https://dav.example.com/" value="${values.url}">
<label for="caldav-username">User name</label>
<input id="caldav-username" name="username" type="text" autocomplete="username" required value="${values.username}">
<label for="caldav-password">Password</label>
<input id="caldav-password" name="password" type="password" autocomplete="off" required>
<p class="hint">Almanac finds the calendars itself (it tries <code>/.well-known/caldav</code> first).
Passwords are stored encrypted and are only sent to this server.</p>
<label for="caldav-name">Name on these pages <span class="muted">(optional)</span></label>
<input id="caldav-name" name="name" type="text" value="${values.name}">
<div class="actions"><button type="submit">Connect CalDAV</button></div>
</form>
</section>`

const feedForm = (values: FeedValues, message: string | undefined) => html`<section aria-labelledby="ics-h">
<h2 id="ics-h">Subscribe to a feed</h2>
${error(message)}
<form method="post" action="/accounts/ics">
<label for="ics-url">Feed URL</label>
<input id="ics-url" name="url" type="text" inputmode="url" required placeholder="webcal://example.com/holidays.ics" value="${values.url}">
<p class="hint">A published calendar, a holiday or sports feed (<code>https://</code> or <code>webcal://</code>).
It is read-only: it can be the source of a one-way sync, never a target.</p>
<label for="ics-name">Name on these pages <span class="muted">(optional)</span></label>
<input id="ics-name" name="name" type="text" value="${values.name}">
<div class="actions"><button type="submit">Subscribe</button></div>
</form>
</section>`

export const view = (
  user: User,
  accounts: ReadonlyArray<AccountRecord>,
  options: {
    readonly refused?: Refused
    readonly notice?: string | undefined
    readonly oauth?: Partial<Record<OAuthKind, OAuthSetup>>
  } = {}
) => {
  const refused = options.refused
  const icloud =
    refused?.form === "icloud" ? refused.values : ({ appleId: "", name: "" } satisfies IcloudValues)
  const caldav =
    refused?.form === "caldav" ? refused.values : ({ url: "", username: "", name: "" } satisfies CaldavValues)
  const feed = refused?.form === "ics" ? refused.values : ({ url: "", name: "" } satisfies FeedValues)
  return page({
    title: "Accounts",
    user,
    area: "accounts",
    notice: options.notice,
    body: html`<section aria-labelledby="connected-h"><h2 id="connected-h">Connected accounts</h2>${list(accounts)}</section>
<div class="grid">
${icloudForm(icloud, refused?.form === "icloud" ? refused.error : undefined)}
${caldavForm(caldav, refused?.form === "caldav" ? refused.error : undefined)}
${options.oauth?.google === undefined ? "" : oauthSection("google", options.oauth.google)}
${options.oauth?.microsoft === undefined ? "" : oauthSection("microsoft", options.oauth.microsoft)}
${feedForm(feed, refused?.form === "ics" ? refused.error : undefined)}
</div>`
  })
}

/** The page as it stands for `user`; `status` 4xx when it re-shows a refused form. */
export const show = (
  user: User,
  options: { readonly refused?: Refused; readonly notice?: string | undefined; readonly status?: number } = {}
) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const mine = yield* accounts.list(user.id)
    const connect = yield* OAuthConnect
    const oauth = {
      google: yield* Effect.either(connect.google.setup),
      microsoft: yield* Effect.either(connect.microsoft.setup)
    }
    return respond(view(user, mine, { ...options, oauth }), options.status ?? 200, {
      // An OAuth form's answer is a redirect to the service's consent page.
      formActions: [oauth.google, oauth.microsoft].flatMap((setup) =>
        Either.match(setup, { onLeft: () => [], onRight: (s) => [s.authorizeOrigin] })
      )
    })
  })

/** 409 for an account that is already there, 502 when the server could not be reached, else 422. */
const statusOf = (e: ConnectError | AlreadyConnected): number =>
  e._tag === "AlreadyConnected" ? 409 : e._tag === "ServerUnreachable" ? 502 : 422

const optional = (text: string) => (text === "" ? Option.none() : Option.some(text))

const connected = (account: AccountRecord) =>
  seeOther(Notice.location(`/accounts/${encodeURIComponent(account.id)}`, "account-connected"))

export const connectIcloud = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const values: IcloudValues = { appleId: form.text("appleId"), name: form.text("name") }
    const refuse = (error: string, status: number) =>
      show(user, { refused: { form: "icloud", values, error }, status })
    if (values.appleId === "")
      return yield* refuse("Enter your Apple ID (usually your iCloud email address).", 400)
    const service = yield* AccountService
    return yield* service
      .connectICloud({
        userId: user.id,
        appleId: values.appleId,
        appSpecificPassword: form.secret("password"),
        name: optional(values.name)
      })
      .pipe(
        Effect.map(({ account }) => connected(account)),
        Effect.catchAll((e) =>
          e._tag === "StoreError" ? Effect.fail(e) : refuse(Problems.connect(e), statusOf(e))
        )
      )
  })
)

export const connectCaldav = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const values: CaldavValues = {
      url: form.text("url"),
      username: form.text("username"),
      name: form.text("name")
    }
    const refuse = (error: string, status: number) =>
      show(user, { refused: { form: "caldav", values, error }, status })
    const missing = [
      values.url === "" ? "the server's URL" : "",
      values.username === "" ? "the user name" : ""
    ]
      .filter((m) => m !== "")
      .join(" and ")
    if (missing !== "") return yield* refuse(`Enter ${missing}.`, 400)
    const service = yield* AccountService
    return yield* service
      .connectCalDav({
        userId: user.id,
        url: values.url,
        username: values.username,
        password: form.secret("password"),
        name: optional(values.name)
      })
      .pipe(
        Effect.map(({ account }) => connected(account)),
        Effect.catchAll((e) =>
          e._tag === "StoreError" ? Effect.fail(e) : refuse(Problems.connect(e), statusOf(e))
        )
      )
  })
)

/** A URL as it may be shown again: without the user name and password it may hold. */
const withoutPassword = (url: string): string => {
  try {
    const u = new URL(url.trim())
    if (u.username === "" && u.password === "") return url
    u.username = ""
    u.password = ""
    return u.href
  } catch {
    return url.includes("@") ? "" : url
  }
}

export const subscribeFeed = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const url = form.text("url")
    const values: FeedValues = { url: withoutPassword(url), name: form.text("name") }
    const refuse = (error: string, status: number) =>
      show(user, { refused: { form: "ics", values, error }, status })
    if (url === "") return yield* refuse("Enter the feed's URL.", 400)
    const service = yield* AccountService
    return yield* service.subscribeFeed({ userId: user.id, url, name: optional(values.name) }).pipe(
      Effect.map(({ account }) => connected(account)),
      Effect.catchAll((e) =>
        e._tag === "StoreError" ? Effect.fail(e) : refuse(Problems.connect(e), statusOf(e))
      )
    )
  })
)

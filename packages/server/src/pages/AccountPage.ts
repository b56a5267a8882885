/**
 * One account: its calendars with how syncing them goes, a new password when the old one stopped
 * working (or was revoked at Apple), looking again for calendars, and removing the account. An
 * account that is not the person's own is "not found", exactly like one that does not exist.
 */

import type { SyncStore } from "@almanac/core"
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import {
  type AccountNotFound,
  AccountService,
  type AccountWithCalendars,
  type CalendarState,
  type ConnectError
} from "../app/AccountService.js"
import { OAuthConnect } from "../app/OAuthConnect.js"
import { isOAuthKind, services } from "../app/OAuthService.js"
import type { User } from "../store/Users.js"
import { accountState, kindName } from "./AccountsPage.js"
import { accountName, calendarName } from "./Catalogue.js"
import type * as Form from "./Form.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Problems from "./Problems.js"
import { moment } from "./Time.js"

const calendarRow = (c: CalendarState, now: number) => html`<tr>
<td>${calendarName(c)}${c.writable ? "" : html` <span class="tag">read-only</span>`}</td>
<td data-label="Sync">${c.inRelationship ? html`<span class="tag ok">in a sync</span>` : html`<span class="muted">not synced</span>`}</td>
<td data-label="Last poll">${moment(c.lastPollAt, now)}</td>
<td data-label="Problems">${Option.match(c.lastError, { onNone: () => html`<span class="muted">none</span>`, onSome: (e) => html`<span class="bad">${e}</span>` })}${
  Option.isSome(c.halted)
    ? html`<div class="warn">Deletions wait for your confirmation on the <a href="/status">status page</a>.</div>`
    : ""
}${c.quarantined > 0 ? html`<div class="warn">${c.quarantined} unreadable item(s), see the status page.</div>` : ""}</td>
</tr>`

export const view = (
  user: User,
  { account, calendars }: AccountWithCalendars,
  options: { readonly notice?: string | undefined; readonly error?: string | undefined; readonly now: number }
) => {
  const base = `/accounts/${encodeURIComponent(account.id)}`
  return page({
    title: accountName(account),
    user,
    area: "accounts",
    notice: options.notice,
    error: options.error,
    body: html`<section aria-labelledby="about-h">
<h2 id="about-h">${kindName(account)} account</h2>
<table><tbody>
<tr><th scope="row">User</th><td>${account.username}</td></tr>
<tr><th scope="row">Server</th><td><code>${account.url}</code></td></tr>
<tr><th scope="row">State</th><td>${accountState(account)}</td></tr>
</tbody></table>
</section>
<section aria-labelledby="calendars-h">
<h2 id="calendars-h">Calendars</h2>
${
  calendars.length === 0
    ? html`<p class="muted">No event calendars were found.</p>`
    : html`<table class="list">
<thead><tr><th scope="col">Calendar</th><th scope="col">Sync</th><th scope="col">Last poll</th><th scope="col">Problems</th></tr></thead>
<tbody>${calendars.map((c) => calendarRow(c, options.now))}</tbody></table>`
}
<form class="actions" method="post" action="${base}/refresh"><button class="secondary" type="submit">Look for new calendars</button></form>
<p class="hint">Create syncs between these calendars on the <a href="/syncs">Syncs</a> page.</p>
</section>
<div class="grid">
${
  // a public feed has no password to change
  account.kind === "ics" && account.username === ""
    ? ""
    : isOAuthKind(account.kind)
      ? html`<section aria-labelledby="renew-h">
<h2 id="renew-h">Renew ${services[account.kind].label} access</h2>
<p class="hint">When ${services[account.kind].label} access was revoked or has expired, connect the same account again: its calendars and syncs stay. ${services[account.kind].accessLine}</p>
<form method="post" action="/accounts/${account.kind}">
<div class="actions"><button type="submit">${services[account.kind].connect} again</button></div>
</form>
</section>`
      : html`<section aria-labelledby="password-h">
<h2 id="password-h">Change the password</h2>
<form method="post" action="${base}/password">
<label for="new-password">${account.kind === "icloud" ? "New app-specific password" : "New password"}</label>
<input id="new-password" name="password" type="password" autocomplete="off" required>
${
  account.kind === "icloud"
    ? html`<p class="hint">Create one at <strong>appleid.apple.com</strong> → <strong>Sign-In and Security</strong> → <strong>App-Specific Passwords</strong>. Your normal Apple ID password does not work here.</p>`
    : html`<p class="hint">It is checked with the server before it replaces the stored one.</p>`
}
<div class="actions"><button type="submit">Save the new password</button></div>
</form>
</section>`
}
<section aria-labelledby="remove-h">
<h2 id="remove-h">Remove this account</h2>
<p>${
      account.kind === "google"
        ? "Its Google access is revoked at Google and erased here"
        : account.kind === "microsoft"
          ? `Its Microsoft access is erased here (Microsoft offers apps no way to revoke it: withdraw it at ${services.microsoft.withdraw})`
          : account.kind === "ics" && account.username === ""
            ? "The feed is unsubscribed"
            : "Its stored password is erased"
    }, and the syncs that use its calendars are removed. Copies already written
to calendars stay where they are.${account.kind === "icloud" ? " Revoke the app-specific password at appleid.apple.com too." : ""}</p>
<form method="post" action="${base}/remove">
<label class="inline"><input type="checkbox" name="confirm" required> Yes, remove ${accountName(account)}</label>
<div class="actions"><button class="danger" type="submit">Remove the account</button></div>
</form>
</section>
</div>`
  })
}

const accountId = Effect.map(HttpLayerRouter.params, (p) => p.id ?? "")

const notFound = (user: User, e: Parameters<typeof Problems.accountMissing>[0]) =>
  respond(
    page({
      title: "Not found",
      user,
      area: "accounts",
      error: Problems.accountMissing(e),
      body: html`<p><a href="/accounts">Back to your accounts</a></p>`
    }),
    404
  )

/** The page, with `error` and `status` when it re-shows a refused form. */
const show = (user: User, id: string, options: { readonly error?: string; readonly status?: number } = {}) =>
  Effect.gen(function* () {
    const service = yield* AccountService
    const notice = yield* Notice.current
    const account = yield* service.get(user.id, id)
    const calendars = yield* service.calendars(user.id, id)
    // An OAuth account's "connect again" form answers with a redirect to its service's consent page.
    const kind = account.kind
    const setup = isOAuthKind(kind)
      ? Option.some(yield* Effect.either((yield* OAuthConnect)[kind].setup))
      : Option.none()
    return respond(
      view(user, { account, calendars }, { notice, error: options.error, now: Date.now() }),
      options.status ?? 200,
      {
        formActions: Option.match(setup, {
          onNone: () => [],
          onSome: Either.match({ onLeft: () => [], onRight: (s) => [s.authorizeOrigin] })
        })
      }
    )
  }).pipe(Effect.catchTag("AccountNotFound", (e) => Effect.succeed(notFound(user, e))))

export const get = Handler.signedIn((user) => Effect.flatMap(accountId, (id) => show(user, id)))

/**
 * A form that asks the server again (a new password, looking for calendars): back to the account
 * page with `notice`, or the page again with why the server said no.
 */
const askServer = (
  notice: Notice.Notice,
  run: (
    service: AccountService["Type"],
    userId: string,
    accountId: string,
    form: Form.Form
  ) => Effect.Effect<unknown, AccountNotFound | ConnectError | SyncStore.StoreError>
) =>
  Handler.formPost((form, user) =>
    Effect.gen(function* () {
      const id = yield* accountId
      const service = yield* AccountService
      return yield* run(service, user.id, id, form).pipe(
        Effect.as(seeOther(Notice.location(`/accounts/${encodeURIComponent(id)}`, notice))),
        Effect.catchAll((e) => {
          switch (e._tag) {
            case "StoreError":
              return Effect.fail(e)
            case "AccountNotFound":
              return Effect.succeed(notFound(user, e))
            default:
              return show(user, id, {
                error: Problems.connect(e),
                status: e._tag === "ServerUnreachable" ? 502 : 422
              })
          }
        })
      )
    })
  )

export const newPassword = askServer("account-reauthenticated", (service, userId, id, form) =>
  service.reauthenticate(userId, id, form.secret("password"))
)

export const lookAgain = askServer("calendars-refreshed", (service, userId, id) =>
  service.refresh(userId, id)
)

export const remove = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const id = yield* accountId
    if (!form.checked("confirm"))
      return yield* show(user, id, {
        error: "Tick the box to confirm that the account should be removed.",
        status: 400
      })
    const service = yield* AccountService
    return yield* service.remove(user.id, id).pipe(
      Effect.as(seeOther(Notice.location("/accounts", "account-removed"))),
      Effect.catchTag("AccountNotFound", (e) => Effect.succeed(notFound(user, e)))
    )
  })
)

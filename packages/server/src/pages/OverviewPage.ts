/**
 * The first page after signing in: where things stand and what to do next, in the order a person
 * sets Almanac up (connect an account, create a sync, watch its status), and anything that needs
 * them (a password to renew, a failing calendar, deletions waiting for confirmation).
 */
import { Effect, Option } from "effect"
import { RelationshipService } from "../app/RelationshipService.js"
import { StatusService } from "../app/StatusService.js"
import { Accounts } from "../store/Accounts.js"
import type { User } from "../store/Users.js"
import { html } from "./Html.js"
import { page, respond } from "./Layout.js"

const count = (n: number, one: string, many: string) => (n === 1 ? `1 ${one}` : `${n} ${many}`)

export const show = (user: User) =>
  Effect.gen(function* () {
    const accounts = yield* (yield* Accounts).list(user.id)
    const syncs = yield* (yield* RelationshipService).list(user.id)
    const statuses = yield* (yield* StatusService).all(user.id)
    const reauth = accounts.filter((a) => a.status !== "ok").length
    const failing = statuses.filter((s) => Option.isSome(s.lastError)).length
    const halted = statuses.filter((s) => Option.isSome(s.deletesAwaitingConfirmation)).length
    const attention = [
      reauth === 0
        ? ""
        : html`<li>${count(reauth, "account needs", "accounts need")} a new password: see <a href="/accounts">Accounts</a>.</li>`,
      failing === 0
        ? ""
        : html`<li>${count(failing, "calendar fails", "calendars fail")} to sync: see <a href="/status">Status</a>.</li>`,
      halted === 0
        ? ""
        : html`<li>${count(halted, "calendar waits", "calendars wait")} for you to confirm deletions: see <a href="/status">Status</a>.</li>`
    ].filter((item) => item !== "")
    return respond(
      page({
        title: `Hello, ${user.name}`,
        user,
        area: "home",
        body: html`${
          attention.length === 0
            ? ""
            : html`<section class="error" role="alert" aria-labelledby="attention-h"><h2 id="attention-h">Needs your attention</h2><ul>${attention}</ul></section>`
        }
<section aria-labelledby="steps-h">
<h2 id="steps-h">Getting set up</h2>
<ol>
<li><a href="/accounts">Connect an account</a>: iCloud (with an app-specific password) or any CalDAV server.
<span class="muted">${accounts.length === 0 ? "None yet." : `${count(accounts.length, "account", "accounts")} connected.`}</span></li>
<li><a href="/syncs">Create a sync</a>: choose a source and a target calendar, one way or both, and whether copies say only “Busy”.
<span class="muted">${syncs.length === 0 ? "None yet." : `${count(syncs.length, "sync", "syncs")}.`}</span></li>
<li><a href="/status">Watch the status</a>: every calendar's last poll, errors in words, and anything waiting for you.</li>
</ol>
</section>`
      })
    )
  })

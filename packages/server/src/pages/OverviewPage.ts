/**
 * The first page after signing in: where things stand and what to do next, in the order a person
 * sets Almanac up (connect an account, create a sync, watch its status).
 */
import { Effect } from "effect"
import { Accounts } from "../store/Accounts.js"
import type { User } from "../store/Users.js"
import { html } from "./Html.js"
import { page, respond } from "./Layout.js"

export const show = (user: User) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const mine = yield* accounts.list(user.id)
    const attention = mine.filter((a) => a.status !== "ok").length
    return respond(
      page({
        title: `Hello, ${user.name}`,
        user,
        area: "home",
        body: html`<section aria-labelledby="steps-h">
<h2 id="steps-h">Getting set up</h2>
<ol>
<li><a href="/accounts">Connect an account</a>: iCloud (with an app-specific password) or any CalDAV server.
<span class="muted">${mine.length === 0 ? "None yet." : `${mine.length} connected.`}</span></li>
<li><a href="/syncs">Create a sync</a>: choose a source and a target calendar, one way or both, and whether copies say only “Busy”.</li>
<li><a href="/status">Watch the status</a>: every calendar's last poll, errors in words, and anything waiting for you.</li>
</ol>
${attention === 0 ? "" : html`<p class="error" role="alert">${attention === 1 ? "One account needs" : `${attention} accounts need`} a new password: see <a href="/accounts">Accounts</a>.</p>`}
</section>`
      })
    )
  })

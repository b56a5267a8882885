/**
 * People, for the server's owner only: who has an account on this server, adding a person, and a
 * new sign-in token for anyone (the owner included, to sign in from another browser). A token is
 * shown once, in the answer to the post that made it (never in a URL, never again); only its hash
 * is kept. For anyone but the owner this page does not exist (404).
 */
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { type User, Users } from "../store/Users.js"
import { maxNameLength } from "./FirstRunPage.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond } from "./Layout.js"
import { moment } from "./Time.js"

interface Issued {
  readonly name: string
  readonly token: string
  readonly firstOfUser: boolean
}

const issuedBox = (issued: Issued) => html`<section class="notice" role="status" aria-labelledby="issued-h">
<h2 id="issued-h">${issued.firstOfUser ? `${issued.name} was added` : `A new token for ${issued.name}`}</h2>
<p>This token is shown only this once. Pass it to ${issued.name} safely (a password manager's sharing, say);
they paste it on this server's front page to sign in, and it also works with the API.</p>
<p><code class="token" id="issued-token">${issued.token}</code></p>
</section>`

const show = (
  owner: User,
  options: {
    readonly issued?: Issued
    readonly error?: string
    readonly name?: string
    readonly status?: number
  } = {}
) =>
  Effect.gen(function* () {
    const users = yield* Users
    const all = yield* users.list
    const rows = yield* Effect.forEach(all, (u) =>
      Effect.map(users.tokens(u.id), (tokens) => ({ user: u, tokens }))
    )
    const now = Date.now()
    return respond(
      page({
        title: "People",
        user: owner,
        area: "people",
        error: options.error,
        body: html`${options.issued === undefined ? "" : issuedBox(options.issued)}
<section aria-labelledby="people-h">
<h2 id="people-h">Who uses this server</h2>
<table class="list">
<thead><tr><th scope="col">Name</th><th scope="col">Tokens</th><th scope="col">Added</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
<tbody>${rows.map(
          ({ user, tokens }) => html`<tr>
<td>${user.name}${user.owner ? html` <span class="tag ok">owner</span>` : ""}${user.id === owner.id ? html` <span class="muted">(you)</span>` : ""}</td>
<td data-label="Tokens">${tokens.length}</td>
<td data-label="Added">${moment(Option.some(user.createdAt), now)}</td>
<td><form method="post" action="/people/${encodeURIComponent(user.id)}/token"><button class="secondary" type="submit" aria-label="New token for ${user.name}">New token</button></form></td>
</tr>`
        )}</tbody></table>
</section>
<section aria-labelledby="add-h">
<h2 id="add-h">Add a person</h2>
<p class="hint">They get their own accounts, calendars and syncs; nobody sees another's. You see their token once.</p>
<form method="post" action="/people">
<label for="person-name">Name</label>
<input id="person-name" name="name" type="text" required maxlength="${maxNameLength}" value="${options.name ?? ""}">
<div class="actions"><button type="submit">Add and show the token</button></div>
</form>
</section>`
      }),
      options.status ?? 200
    )
  })

export const get = Handler.ownerOnly((owner) => show(owner))

export const add = Handler.ownerPost((form, owner) =>
  Effect.gen(function* () {
    const name = form.text("name")
    if (name === "") return yield* show(owner, { error: "Type the person's name.", status: 400 })
    if (name.length > maxNameLength)
      return yield* show(owner, {
        name,
        error: `The name is longer than ${maxNameLength} characters.`,
        status: 400
      })
    const users = yield* Users
    const user = yield* users.create(name)
    const issued = yield* users.issueToken(user.id, `added by ${owner.name} on the People page`)
    return yield* show(owner, {
      issued: { name: user.name, token: Redacted.value(issued.token), firstOfUser: true }
    })
  })
)

export const newToken = Handler.ownerPost((_form, owner) =>
  Effect.gen(function* () {
    const id = (yield* HttpLayerRouter.params).id ?? ""
    const users = yield* Users
    const user = yield* users.get(id)
    if (Option.isNone(user))
      return yield* show(owner, {
        error: "There is no such person (they may have been removed).",
        status: 404
      })
    const issued = yield* users.issueToken(user.value.id, `issued by ${owner.name} on the People page`)
    return yield* show(owner, {
      issued: { name: user.value.name, token: Redacted.value(issued.token), firstOfUser: false }
    })
  })
)

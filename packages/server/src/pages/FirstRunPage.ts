/**
 * The front page of a server with no user: create the first user, its owner, and be signed in at
 * once. From a browser on the server's own machine a name is enough; from anywhere else the page
 * also asks for the one-time setup code the server wrote to its log when it started. Once anyone
 * exists the front page is the plain sign-in, and posting here is answered 404.
 */
import { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect } from "effect"
import { FirstRun, isDirectLocal } from "../app/FirstRun.js"
import { Users } from "../store/Users.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Session from "./Session.js"

/** The longest name the form takes: a person's name, not a document. */
export const maxNameLength = 200

/** Local or not, from the socket itself: a proxy's or a client's headers can only take it away. */
export const isLocal = (request: HttpServerRequest.HttpServerRequest): boolean =>
  isDirectLocal({
    remoteAddress: NodeHttpServerRequest.toIncomingMessage(request).socket.remoteAddress,
    headers: request.headers
  })

export const view = (options: { readonly local: boolean; readonly name?: string; readonly error?: string }) =>
  page({
    title: "Set up Almanac",
    user: undefined,
    error: options.error,
    body: html`<section aria-labelledby="owner-h">
<h2 id="owner-h">Create the first user</h2>
<p>This server has no users yet. The first one is its owner: signed in here at once, and able to
make sign-in tokens for other people on the People page.</p>
<form method="post" action="/setup">
<label for="name">Your name</label>
<input id="name" name="name" type="text" required maxlength="${maxNameLength}" autocomplete="name" value="${options.name ?? ""}">
${
  options.local
    ? html`<p class="hint">This browser is on the server's own machine, so no setup code is needed.</p>`
    : html`<label for="code">Setup code</label>
<input id="code" name="code" type="text" required autocomplete="off" spellcheck="false" autocapitalize="characters">
<p class="hint">This browser is not on the server's own machine (or reaches it through a proxy), so the
server asks for the one-time setup code it wrote to its log when it started: the line that says
<q>no user exists yet</q>. It looks like <code>ABCD-EFGH-JKLM-NPQR</code> and works once.</p>`
}
<div class="actions"><button type="submit">Create the owner and sign in</button></div>
</form>
</section>
<section aria-labelledby="cli-h">
<h2 id="cli-h">Or on the server</h2>
<p><code>almanac user create NAME</code> in the server's folder makes a user (the first is the owner) and
prints a token to sign in with.</p>
</section>`
  })

const closed = () =>
  respond(
    page({
      title: "Not found",
      user: undefined,
      error: "This server already has its owner, so no user can be created here. Sign in instead.",
      body: html`<p><a href="/">Sign in</a></p>`
    }),
    404
  )

export const create = Handler.anonymousPost((form, request) =>
  Effect.gen(function* () {
    const firstRun = yield* FirstRun
    if (!(yield* firstRun.open)) return closed()
    const local = isLocal(request)
    const name = form.text("name")
    if (name === "") return respond(view({ local, error: "Type a name for the owner." }), 400)
    if (name.length > maxNameLength)
      return respond(view({ local, error: `The name is longer than ${maxNameLength} characters.` }), 400)
    const result = yield* firstRun.createOwner({ name, local, code: form.secret("code") })
    switch (result._tag) {
      case "Closed":
        return closed()
      case "Refused":
        return respond(
          view({
            local,
            name,
            error:
              result.admission === "code-missing"
                ? "Type the setup code from the server's log."
                : "That is not the setup code: copy it again from the line in the server's log that says “no user exists yet”."
          }),
          403
        )
      case "Created": {
        const users = yield* Users
        const token = yield* users.issueToken(result.user.id, "first run in the browser")
        return yield* Session.signIn(seeOther(Notice.location("/", "owner-created")), request, {
          userId: result.user.id,
          tokenId: token.id
        })
      }
    }
  })
)

/** The front page for someone not signed in: the first run while nobody exists, else the sign-in. */
export const isOpen = Effect.flatMap(FirstRun, (firstRun) => firstRun.open)

export const show = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
  respond(view({ local: isLocal(request) }))
)

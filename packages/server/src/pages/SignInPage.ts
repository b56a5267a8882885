/**
 * Signing in and out. There are no passwords for Almanac itself: each person has an API token,
 * made on the server (`almanac user create`) or by the owner on the People page, and pasting it
 * here stores it in this browser's session cookie.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { Users } from "../store/Users.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Session from "./Session.js"

export const view = (error?: string) =>
  page({
    title: "Sign in",
    user: undefined,
    error,
    body: html`<section>
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
<p class="hint">Your token starts with <code>alm_</code> and is shown only once, when it is made, so keep
it in your password manager. Signing out forgets it in this browser only.</p>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
</section>
<section aria-labelledby="where-h">
<h2 id="where-h">Where a token comes from</h2>
<ul>
<li>From this server's owner: on the <strong>People</strong> page of their settings, they add you
and see your token once.</li>
<li>On the server itself: <code>almanac user create NAME</code> makes a user and prints its first
token; <code>almanac user token USER-ID</code> prints another (<code>almanac user list</code> shows the ids).</li>
</ul>
</section>`
  })

export const login = Handler.anonymousPost((form, request) =>
  Effect.gen(function* () {
    const token = form.text("token")
    if (token === "") return respond(view("Paste your API token to sign in."), 400)
    const users = yield* Users
    const found = yield* users.authenticateToken(Redacted.make(token))
    if (Option.isNone(found))
      return respond(
        view(
          "That token is not valid: check that you pasted all of it, or ask this server's owner for a new one."
        ),
        401
      )
    return yield* Session.signIn(seeOther("/"), request, {
      userId: found.value.user.id,
      tokenId: found.value.tokenId
    })
  })
)

export const logout = Handler.anonymousPost((_form, request: HttpServerRequest.HttpServerRequest) =>
  Session.signOut(seeOther("/"), request)
)

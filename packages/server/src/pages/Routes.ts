/**
 * The settings pages as routes of the server's router: plain HTML forms, no front-end build. Each
 * page module renders and acts; this one only says which URL and method reach which.
 */
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Option } from "effect"
import * as AccountPage from "./AccountPage.js"
import * as AccountsPage from "./AccountsPage.js"
import * as FirstRunPage from "./FirstRunPage.js"
import * as Handler from "./Handler.js"
import { respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as OAuthPages from "./OAuthPages.js"
import * as OverviewPage from "./OverviewPage.js"
import * as PeoplePage from "./PeoplePage.js"
import * as Session from "./Session.js"
import * as SignInPage from "./SignInPage.js"
import * as StatusPage from "./StatusPage.js"
import * as SyncsPage from "./SyncsPage.js"

const home = Effect.gen(function* () {
  const user = yield* Session.currentUser
  if (Option.isSome(user)) return yield* OverviewPage.show(user.value)
  return (yield* FirstRunPage.isOpen) ? yield* FirstRunPage.show : respond(SignInPage.view())
})

const accounts = Handler.signedIn((user) =>
  Effect.flatMap(Notice.current, (notice) => AccountsPage.show(user, { notice }))
)

const route = HttpLayerRouter.route
const page = Handler.orCrashPage

export const layer = HttpLayerRouter.addAll([
  route("GET", "/", page(Handler.anyone(home))),
  route("POST", "/login", page(SignInPage.login)),
  route("POST", "/logout", page(SignInPage.logout)),
  route("POST", "/setup", page(FirstRunPage.create)),
  // After a refused setup the address bar says /setup; opening it again leads to the front page.
  route("GET", "/setup", Effect.succeed(seeOther("/"))),
  route("GET", "/people", page(PeoplePage.get)),
  route("POST", "/people", page(PeoplePage.add)),
  route("POST", "/people/:id/token", page(PeoplePage.newToken)),
  route("GET", "/accounts", page(accounts)),
  route("POST", "/accounts/icloud", page(AccountsPage.connectIcloud)),
  route("POST", "/accounts/caldav", page(AccountsPage.connectCaldav)),
  route("POST", "/accounts/ics", page(AccountsPage.subscribeFeed)),
  route("POST", "/accounts/google", page(OAuthPages.connect("google"))),
  route("GET", "/oauth/google/callback", page(OAuthPages.callback("google"))),
  route("POST", "/accounts/microsoft", page(OAuthPages.connect("microsoft"))),
  route("GET", "/oauth/microsoft/callback", page(OAuthPages.callback("microsoft"))),
  route("GET", "/accounts/:id", page(AccountPage.get)),
  route("POST", "/accounts/:id/password", page(AccountPage.newPassword)),
  route("POST", "/accounts/:id/refresh", page(AccountPage.lookAgain)),
  route("POST", "/accounts/:id/remove", page(AccountPage.remove)),
  route("GET", "/syncs", page(SyncsPage.get)),
  route("POST", "/syncs", page(SyncsPage.create)),
  route("POST", "/syncs/:id/pause", page(SyncsPage.pause)),
  route("POST", "/syncs/:id/resume", page(SyncsPage.resume)),
  route("POST", "/syncs/:id/remove", page(SyncsPage.remove)),
  route("GET", "/status", page(StatusPage.get)),
  route("POST", "/status/:id/sync", page(StatusPage.syncNow)),
  route("POST", "/status/:id/confirm-deletes", page(StatusPage.confirmDeletes))
])

/**
 * The settings pages as routes of the server's router: plain HTML forms, no front-end build. Each
 * page module renders and acts; this one only says which URL and method reach which.
 */
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Option } from "effect"
import * as AccountsPage from "./AccountsPage.js"
import * as Handler from "./Handler.js"
import { respond } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as OverviewPage from "./OverviewPage.js"
import * as Session from "./Session.js"
import * as SignInPage from "./SignInPage.js"

const home = Effect.gen(function* () {
  const user = yield* Session.currentUser
  return yield* Option.match(user, {
    onNone: () => Effect.succeed(respond(SignInPage.view())),
    onSome: OverviewPage.show
  })
})

export const layer = HttpLayerRouter.addAll([
  HttpLayerRouter.route("GET", "/", Handler.orCrashPage(Handler.anyone(home))),
  HttpLayerRouter.route("POST", "/login", Handler.orCrashPage(SignInPage.login)),
  HttpLayerRouter.route("POST", "/logout", Handler.orCrashPage(SignInPage.logout)),
  HttpLayerRouter.route(
    "GET",
    "/accounts",
    Handler.orCrashPage(
      Handler.signedIn((user) =>
        Effect.flatMap(Notice.current, (notice) => AccountsPage.show(user, { notice }))
      )
    )
  )
])

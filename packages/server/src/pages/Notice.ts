/**
 * What a page says after a form post succeeded. The post redirects with `?notice=<code>` (and
 * whole-number counts where the sentence needs them), and only these fixed sentences can appear,
 * so a crafted link cannot put words on the page.
 */
import { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"

type Count = (name: string) => number

const copies = (n: number) => (n === 1 ? "1 copy" : `${n} copies`)

const notices = {
  "owner-created": () =>
    "Welcome: you are this server's owner, and signed in. To sign in from another browser or to use the API, make yourself a token on the People page.",
  "account-connected": () => "Account connected. Its calendars are listed below.",
  "account-reauthenticated": () => "The new password works and is saved; syncing resumes.",
  "google-renewed": () => "Google access renewed; syncing resumes.",
  "microsoft-renewed": () => "Microsoft access renewed; syncing resumes.",
  "calendars-refreshed": () => "Looked again: the calendars below are what the server lists now.",
  "account-removed": () => "Account removed, with its stored password and its syncs.",
  "sync-created": () =>
    "Sync created. It runs on its own from now on; “Sync now” on the status page starts a poll at once.",
  "sync-paused": () => "Sync paused: nothing is copied until you resume it.",
  "sync-resumed": () => "Sync resumed.",
  "sync-removed": (count: Count) =>
    [
      "Sync removed.",
      count("removed") > 0 ? `${copies(count("removed"))} deleted from the target.` : "",
      count("kept") > 0
        ? `${copies(count("kept"))} kept because they were changed on the target after Almanac wrote them.`
        : "",
      count("left") > 0 ? `${copies(count("left"))} left on the target.` : ""
    ]
      .filter((s) => s !== "")
      .join(" "),
  "sync-requested": () => "A poll was requested; this page shows its result when it is done.",
  "deletes-confirmed": () => "Confirmed: the deletions were carried out."
} as const

export type Notice = keyof typeof notices

export const location = (
  path: string,
  notice: Notice,
  counts: Readonly<Record<string, number>> = {}
): string => {
  const query = new URLSearchParams({ notice })
  for (const [name, n] of Object.entries(counts)) query.set(name, String(Math.max(0, Math.trunc(n))))
  return `${path}?${query.toString()}`
}

const isNotice = (code: unknown): code is Notice => typeof code === "string" && Object.hasOwn(notices, code)

/** The notice the current URL names, if it is one of ours. */
export const current: Effect.Effect<string | undefined, never, HttpServerRequest.ParsedSearchParams> =
  Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
    const code = params.notice
    if (!isNotice(code)) return undefined
    const count: Count = (name) => {
      const value = params[name]
      return typeof value === "string" && /^\d{1,9}$/.test(value) ? Number(value) : 0
    }
    return notices[code](count)
  })

/**
 * The "accounts" endpoints: connect iCloud, a CalDAV server, Google or Microsoft 365 (OAuth), list, re-authenticate, refresh and
 * remove accounts, and the calendars of an account with their sync state. No response ever holds
 * a password; request passwords are decoded straight into Redacted values.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
  BadRequest,
  Conflict,
  InternalError,
  NotFound,
  ServiceUnavailable,
  Unprocessable,
  UpstreamFailed
} from "../ApiError.js"
import { Authentication } from "../Auth.js"
import { strict } from "../Payload.js"

const Iso = Schema.String.annotations({ description: "ISO 8601 time" })
const NullableIso = Schema.NullOr(Iso)

export const AccountView = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("icloud", "caldav", "google", "microsoft", "ics").annotations({
    description: "ics: a subscribed iCalendar feed, whose one calendar is read-only"
  }),
  name: Schema.String,
  url: Schema.String.annotations({
    description: "where discovery starts (for Google, the Calendar API; for Microsoft, Graph)"
  }),
  username: Schema.String.annotations({
    description:
      "the Apple ID for iCloud; for Google, the primary calendar's id (the account's address); for Microsoft, the account's address (`mail`, else `userPrincipalName`)"
  }),
  status: Schema.Literal("ok", "needs-reauth").annotations({
    description:
      "needs-reauth: the server refused the stored password (Google, Microsoft: the stored access); its calendars are parked until PUT /api/accounts/{accountId}/password (Google, Microsoft: until it is connected again with POST /api/accounts/google or /api/accounts/microsoft)"
  }),
  lastError: Schema.NullOr(Schema.String),
  createdAt: Iso
}).annotations({ identifier: "Account" })

export const CalendarView = Schema.Struct({
  id: Schema.String,
  accountId: Schema.String,
  url: Schema.String,
  name: Schema.NullOr(Schema.String),
  color: Schema.NullOr(Schema.String).annotations({ description: "as the server gives it, e.g. #1BADF8FF" }),
  writable: Schema.Boolean.annotations({
    description: "whether the account may write events there, so that the calendar can be a sync target"
  }),
  lastPollAt: NullableIso,
  lastSuccessAt: NullableIso,
  lastError: Schema.NullOr(Schema.String).annotations({ description: "the last poll's error in words" }),
  halted: Schema.NullOr(Schema.String).annotations({
    description:
      "set when the mass-delete safety stop halted this calendar's sync: why, until a person confirms the deletions"
  }),
  quarantined: Schema.Number.annotations({ description: "items that could not be read and are skipped" }),
  inRelationship: Schema.Boolean.annotations({
    description: "whether a sync relationship uses this calendar"
  })
}).annotations({ identifier: "AccountCalendar" })

export const AccountWithCalendars = Schema.Struct({
  account: AccountView,
  calendars: Schema.Array(CalendarView)
}).annotations({ identifier: "AccountWithCalendars" })

/** Trimmed text; the description goes on the encoded side, which is what OpenAPI shows. */
const nonEmpty = (field: string, max: number, description: string) =>
  Schema.compose(
    Schema.String.annotations({ description }),
    Schema.Trim.pipe(
      Schema.minLength(1, { message: () => `${field}: must not be empty` }),
      Schema.maxLength(max, { message: () => `${field}: at most ${max} characters` })
    )
  )

/** A secret from the request body: never trimmed, never echoed in a decoding error. */
const Secret = (field: string) =>
  Schema.Redacted(
    Schema.String.pipe(
      Schema.minLength(1, { message: () => `${field}: must not be empty` }),
      Schema.maxLength(1024, { message: () => `${field}: too long` })
    )
  ).annotations({ description: "write-only; stored encrypted, never returned" })

const Name = nonEmpty(
  "name",
  200,
  "how the account is shown; by default made from the user name (or Apple ID) and the server"
)

const AccountPath = Schema.Struct({ accountId: Schema.String })

export class AccountsGroup extends HttpApiGroup.make("accounts")
  .add(
    HttpApiEndpoint.post("connectICloud", "/accounts/icloud")
      .setPayload(
        strict(
          Schema.Struct({
            appleId: nonEmpty("appleId", 320, "your Apple ID (usually your iCloud email address)"),
            appSpecificPassword: Secret("appSpecificPassword").annotations({
              description:
                "an app-specific password, xxxx-xxxx-xxxx-xxxx; create one at appleid.apple.com → Sign-In and Security → App-Specific Passwords. The normal Apple ID password does not work."
            }),
            name: Schema.optional(Name)
          })
        )
      )
      .addSuccess(AccountWithCalendars, { status: 201 })
      .annotate(OpenApi.Summary, "Connect an iCloud account")
      .annotate(
        OpenApi.Description,
        "Checks the Apple ID and app-specific password by discovering the account's calendars at https://caldav.icloud.com before anything is stored; only then is the password stored (encrypted) with the account and its event calendars (task lists are left out). 400 when the password does not have the form of an app-specific password (Apple is not asked); 422 when Apple refuses the credentials or the account has no event calendar; 502 when iCloud cannot be reached; 409 when this Apple ID is already connected."
      )
  )
  .add(
    HttpApiEndpoint.post("connectCalDav", "/accounts/caldav")
      .setPayload(
        strict(
          Schema.Struct({
            url: nonEmpty(
              "url",
              2000,
              "the server's address, your principal URL, your calendar home or one calendar; http or https, without user name or password in it"
            ),
            username: nonEmpty("username", 320, "the user name the server knows you by"),
            password: Secret("password"),
            name: Schema.optional(Name)
          })
        )
      )
      .addSuccess(AccountWithCalendars, { status: 201 })
      .annotate(OpenApi.Summary, "Connect a CalDAV account")
      .annotate(
        OpenApi.Description,
        "Discovers the account's event calendars from the URL (RFC 6764 well-known lookup, principal, calendar home) with the credentials given; the account is stored only when that works. 400 when the URL is not usable (not http/https, credentials in it, or a private, loopback or link-local address while the server does not allow those); 422 when the server refuses the user name or password or offers no event calendar there; 502 when it cannot be reached; 409 when the same URL and user are already connected."
      )
  )
  .add(
    HttpApiEndpoint.post("subscribeFeed", "/accounts/ics")
      .setPayload(
        strict(
          Schema.Struct({
            url: nonEmpty(
              "url",
              2000,
              "the feed's address: https:// or webcal:// (http:// too); user:password@ in it is sent as HTTP Basic, over https only"
            ),
            name: Schema.optional(Name)
          })
        )
      )
      .addSuccess(AccountWithCalendars, { status: 201 })
      .annotate(OpenApi.Summary, "Subscribe to an iCalendar feed")
      .annotate(
        OpenApi.Description,
        "A published calendar, a holiday or sports feed: read once to prove it is iCalendar, then stored as an account of kind `ics` with one calendar, `writable: false`. It can be the source of one-way syncs only; as a target or in a two-way sync it is refused. Polls are conditional (If-None-Match / If-Modified-Since), so an unchanged feed costs one request with no body. Feeds over 20 MB are refused. A user name and password in the URL are stored encrypted as the account's password and removed from the URL; over http:// they are refused. 400 when the URL is not usable (not https/webcal/http, a password over http, or a private, loopback or link-local address, a redirect hop included, while the server does not allow those); 422 when the address gives no feed that can be read (a web page, 404, refused access, too large); 502 when it cannot be reached; 409 when you already subscribe to it."
      )
  )
  .add(
    // No payload schema: the body is optional, and an empty one is not JSON (see the handler).
    HttpApiEndpoint.post("connectGoogle", "/accounts/google")
      .addSuccess(
        Schema.Struct({
          authorizeUrl: Schema.String.annotations({
            description: "where to send the browser: Google's consent page for this server's client"
          })
        }).annotations({ identifier: "GoogleAuthorization" })
      )
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Summary, "Connect a Google account (OAuth)")
      .annotate(
        OpenApi.Description,
        'Body optional: `{"name": "…"}` names the account on these pages (default `Google (<address>)`). Answers 200 with `authorizeUrl`: open it in a browser, sign in to Google and allow access. Google then sends that browser to `{ALMANAC_PUBLIC_URL}/oauth/google/callback` (a plain GET, no session needed), which finishes the connection and redirects to the account\'s page; the account then appears in GET /api/accounts with kind `google`, named by its primary calendar\'s id, with its calendars (`writable` marked). The link works once and for 10 minutes, and only for you. Connecting the same Google account again renews its access (after it was revoked). Access asked for: read the calendar list and free/busy, and read and write events (scopes calendar.events and calendar.readonly). 503 when this server has no Google client or no ALMANAC_PUBLIC_URL: the message says how to set them up.'
      )
  )
  .add(
    // No payload schema: the body is optional, and an empty one is not JSON (see the handler).
    HttpApiEndpoint.post("connectMicrosoft", "/accounts/microsoft")
      .addSuccess(
        Schema.Struct({
          authorizeUrl: Schema.String.annotations({
            description:
              "where to send the browser: the Microsoft sign-in and consent page for this server's app"
          })
        }).annotations({ identifier: "MicrosoftAuthorization" })
      )
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Summary, "Connect a Microsoft 365 or Outlook.com account (OAuth)")
      .annotate(
        OpenApi.Description,
        'Body optional: `{"name": "…"}` names the account on these pages (default `Microsoft (<address>)`). Answers 200 with `authorizeUrl`: open it in a browser, sign in to Microsoft and allow access. Microsoft then sends that browser to `{ALMANAC_PUBLIC_URL}/oauth/microsoft/callback` (a plain GET, no session needed), which finishes the connection and redirects to the account\'s page; the account then appears in GET /api/accounts with kind `microsoft`, named by its address from `/me`, with its calendars (`writable` from `canEdit`). The link works once and for 10 minutes, and only for you. Connecting the same Microsoft account again renews its access. Access asked for: Calendars.ReadWrite, User.Read and offline_access. 503 when this server has no Microsoft app or no ALMANAC_PUBLIC_URL: the message says how to set them up.'
      )
  )
  .add(
    HttpApiEndpoint.get("listAccounts", "/accounts")
      .addSuccess(Schema.Array(AccountView))
      .annotate(OpenApi.Summary, "Your connected accounts")
  )
  .add(
    HttpApiEndpoint.get("getAccount", "/accounts/:accountId")
      .setPath(AccountPath)
      .addSuccess(AccountView)
      .annotate(OpenApi.Summary, "One account")
  )
  .add(
    HttpApiEndpoint.put("reauthenticate", "/accounts/:accountId/password")
      .setPath(AccountPath)
      .setPayload(
        strict(
          Schema.Struct({
            password: Secret("password").annotations({
              description: "the new password (for iCloud, a new app-specific password)"
            })
          })
        )
      )
      .addSuccess(AccountWithCalendars)
      .annotate(OpenApi.Summary, "Give an account a new password")
      .annotate(
        OpenApi.Description,
        "For an account whose password was changed or revoked (status needs-reauth). The new password is checked by discovery first and replaces the stored one only when it works; the account's status returns to ok and its calendars that take part in a sync poll again at once. Errors as for connecting."
      )
  )
  .add(
    HttpApiEndpoint.post("refreshAccount", "/accounts/:accountId/refresh")
      .setPath(AccountPath)
      .addSuccess(AccountWithCalendars)
      .annotate(OpenApi.Summary, "Look for new or renamed calendars")
      .annotate(
        OpenApi.Description,
        "Runs discovery again with the stored password: calendars created on the server since appear, names and colours follow the server. A calendar the server no longer lists disappears unless a sync relationship uses it (its status then shows the error). A 422 for refused credentials also marks the account needs-reauth."
      )
  )
  .add(
    HttpApiEndpoint.del("removeAccount", "/accounts/:accountId")
      .setPath(AccountPath)
      .addSuccess(Schema.Void, { status: 204 })
      .annotate(OpenApi.Summary, "Remove an account")
      .annotate(
        OpenApi.Description,
        "Removes every sync relationship that uses one of the account's calendars (as source or target), then the account, its calendars and its stored password or tokens, which are erased; a Google account's access is revoked at Google first (best effort); Microsoft offers apps no revocation, so a Microsoft account's tokens are erased here and the person withdraws the consent at myapps.microsoft.com or account.live.com/consent/Manage. Copies that those relationships wrote into other calendars are NOT deleted: to remove them, first remove each relationship through the relationships API with its clean-unsync option. Nothing changes on the calendar server itself; for iCloud, also revoke the app-specific password at appleid.apple.com."
      )
  )
  .add(
    HttpApiEndpoint.get("accountCalendars", "/accounts/:accountId/calendars")
      .setPath(AccountPath)
      .addSuccess(Schema.Array(CalendarView))
      .annotate(OpenApi.Summary, "The account's calendars with their sync state")
      .annotate(
        OpenApi.Description,
        "Event calendars only. The sync state (last poll, last success, last error, the mass-delete stop, quarantined items) is filled once a sync relationship uses the calendar."
      )
  )
  .addError(BadRequest)
  .addError(Conflict)
  .addError(NotFound)
  .addError(Unprocessable)
  .addError(UpstreamFailed)
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(
    OpenApi.Description,
    "Calendar accounts (iCloud, CalDAV, Google, Microsoft 365, subscribed iCalendar feeds) and their calendars."
  ) {}

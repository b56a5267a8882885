/**
 * The HTTP API: one definition from which the server, the OpenAPI document (/openapi.json) and
 * the interactive docs (/docs) are all derived. Each group is a module under `groups/`; its
 * handlers live under `handlers/`.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AccountsGroup } from "./groups/Accounts.js"
import { AdminGroup } from "./groups/Admin.js"
import { BookingsGroup } from "./groups/Bookings.js"
import { FreeBusyGroup } from "./groups/FreeBusy.js"
import { RelationshipsGroup } from "./groups/Relationships.js"
import { StatusGroup } from "./groups/Status.js"
import { MeGroup, SystemGroup } from "./groups/System.js"
import * as OpenApiDocument from "./OpenApiDocument.js"

export class AlmanacApi extends HttpApi.make("almanac")
  .add(SystemGroup)
  .add(MeGroup)
  .add(AdminGroup)
  .add(AccountsGroup)
  .add(FreeBusyGroup)
  .add(BookingsGroup)
  .add(RelationshipsGroup)
  .add(StatusGroup)
  .prefix("/api")
  .annotateContext(
    OpenApi.annotations({
      title: "Almanac",
      transform: OpenApiDocument.transform,
      // Relative: the document is served by the server it describes, at whatever address it has.
      servers: [{ url: "/", description: "the server that serves this document" }],
      version: "0.1.0",
      description:
        "Calendar sync between iCloud and CalDAV servers: accounts, sync relationships, status, free/busy and bookings. Every endpoint except /api/health needs `Authorization: Bearer <token>`; the admin endpoints need the admin token."
    })
  ) {}

import { APPLE_ICAL, CALDAV, CALSERVER, DAV } from "./xml.js"

export type PropName = readonly [ns: string, name: string]

export const prop = {
  resourcetype: [DAV, "resourcetype"],
  displayname: [DAV, "displayname"],
  getetag: [DAV, "getetag"],
  syncToken: [DAV, "sync-token"],
  currentUserPrincipal: [DAV, "current-user-principal"],
  supportedReportSet: [DAV, "supported-report-set"],
  currentUserPrivilegeSet: [DAV, "current-user-privilege-set"],
  calendarHomeSet: [CALDAV, "calendar-home-set"],
  calendarData: [CALDAV, "calendar-data"],
  supportedCalendarComponentSet: [CALDAV, "supported-calendar-component-set"],
  getctag: [CALSERVER, "getctag"],
  calendarColor: [APPLE_ICAL, "calendar-color"]
} as const satisfies Record<string, PropName>

export { caldavServers, type TestServerInfo } from "../../../../scripts/test-servers/context.js"

let counter = 0
/** Unique per test run and call, so tests never share a calendar or a UID. */
export const unique = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${process.pid}-${(counter++).toString(36)}`

export const event = (
  uid: string,
  summary: string,
  start = "20260310T100000Z",
  end = "20260310T110000Z"
): string =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Almanac//caldav tests//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20260101T000000Z",
    `DTSTART:${start}`,
    `DTEND:${end}`,
    `SUMMARY:${summary}`,
    "END:VEVENT",
    "END:VCALENDAR",
    ""
  ].join("\r\n")

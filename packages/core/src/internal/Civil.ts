/**
 * Calendar arithmetic on wall-clock fields, independent of any time zone. Wall times are
 * carried as "milliseconds as if UTC" so that adding days never meets a DST change.
 */

export interface Fields {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

export const DAY_MS = 86_400_000

export const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

export const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

export const isValidDate = (year: number, month: number, day: number): boolean =>
  month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)

/** Wall-clock fields as milliseconds on a zone-less time line. */
export const toWallMs = (f: Fields): number => {
  // Date.UTC maps years 0..99 to 1900..1999; setUTCFullYear does not.
  const d = new Date(Date.UTC(2000, f.month - 1, f.day, f.hour, f.minute, f.second))
  d.setUTCFullYear(f.year)
  return d.getTime()
}

export const fromWallMs = (ms: number): Fields => {
  const d = new Date(ms)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds()
  }
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** `YYYYMMDD` */
export const formatBasicDate = (f: Pick<Fields, "year" | "month" | "day">): string =>
  `${pad(f.year, 4)}${pad(f.month, 2)}${pad(f.day, 2)}`

/** `YYYYMMDDTHHMMSS` */
export const formatBasicDateTime = (f: Fields): string =>
  `${formatBasicDate(f)}T${pad(f.hour, 2)}${pad(f.minute, 2)}${pad(f.second, 2)}`

/** jCal form: `YYYY-MM-DD` */
export const formatJCalDate = (f: Pick<Fields, "year" | "month" | "day">): string =>
  `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}`

/** jCal form: `YYYY-MM-DDTHH:MM:SS` */
export const formatJCalDateTime = (f: Fields): string =>
  `${formatJCalDate(f)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}`

export interface ParsedStamp {
  readonly fields: Fields
  readonly hasTime: boolean
  readonly utc: boolean
}

const STAMP = /^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z)?)?$/

/** Accepts both the basic iCalendar form and the extended jCal form. */
export const parseStamp = (text: string): ParsedStamp | undefined => {
  const m = STAMP.exec(text.trim())
  if (m === null) return undefined
  const fields: Fields = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: m[4] === undefined ? 0 : Number(m[4]),
    minute: m[5] === undefined ? 0 : Number(m[5]),
    second: m[6] === undefined ? 0 : Math.min(59, Number(m[6]))
  }
  if (!isValidDate(fields.year, fields.month, fields.day) || fields.hour > 23 || fields.minute > 59) {
    return undefined
  }
  return { fields, hasTime: m[4] !== undefined, utc: m[7] === "Z" }
}

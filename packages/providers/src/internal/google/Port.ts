/**
 * The engine's port as the Google modules use it: core's types under short names, with the
 * create error folded into the write error (Google's insert answers 409 for a taken id).
 */
import { type CalendarProvider as Core, ProviderError } from "@almanac/core"

export type ItemVersion = Core.ItemVersion
export type Scope = Core.Scope
export type Changes = Core.Changes
export type Fetched = Core.Fetched
export type Capabilities = Core.Capabilities
export type CalendarProvider = Core.CalendarProvider
export type PollError = ProviderError.PollError
export type WriteError = Core.WriteError | ProviderError.AlreadyExists
export const AlreadyExists = ProviderError.AlreadyExists
export type AlreadyExists = ProviderError.AlreadyExists

#!/usr/bin/env node
// The CLI runs from TypeScript sources through tsx: no build step between a clone and `npx almanac`.
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")

export * as CalDavProvider from "./CalDavProvider.js"
export * as CalDavRegistry from "./CalDavRegistry.js"
export * as GoogleCodec from "./GoogleCodec.js"

// Types for build.mjs (plain JavaScript so that bare node can run it before anything is built).
export declare const distDir: string
/** dist/bin.js: the program's entry point. */
export declare const entry: string
/** True when there is no complete build or a source changed after it. */
export declare const isStale: () => boolean
/** Builds dist/ and returns the files written, relative to the repository. */
export declare const build: () => Promise<ReadonlyArray<string>>

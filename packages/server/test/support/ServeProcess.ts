/**
 * `almanac serve` as people run it: the shipped bin in its own process, reached only over HTTP,
 * for the end-to-end tests.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../bin/almanac.mjs", import.meta.url))

export interface Process {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

export const serve = async (env: Record<string, string>, url: string): Promise<Process> => {
  const child = spawn(process.execPath, [bin, "serve"], {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  // a deadline for a hang, not a speed target: a loaded machine starts a process many times slower
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`almanac serve exited: ${output}`)
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`almanac serve did not answer: ${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return { child, output: () => output, exited }
}

export const stop = async (p: Process): Promise<number | null> => {
  p.child.kill("SIGTERM")
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000))
  const result = await Promise.race([p.exited, timeout])
  if (result === "timeout") {
    p.child.kill("SIGKILL")
    throw new Error(`almanac serve did not stop within 60 s of SIGTERM: ${p.output()}`)
  }
  return result
}

export const api = (url: string, token: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as unknown }
}

export const waitUntil = async <A>(
  what: string,
  probe: () => Promise<A>,
  done: (a: A) => boolean,
  seconds = 40
) => {
  const deadline = Date.now() + seconds * 1000
  let last = await probe()
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 250))
    last = await probe()
  }
  return last
}

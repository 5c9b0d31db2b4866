import { spawn, ChildProcess } from "node:child_process";

// The real host for specs that run their own (to stop, restart or starve it), on their own port.

/** The release host the README's commands build; it serves the site built into it. */
export const BINARY = "../target/release/mac-status";
/** The default model (scripts/setup.sh fetches it). */
export const MODEL = "../models/SmolLM2-135M-Instruct-Q4_1.gguf";

/** A host listening on `port`, with `args` after `--addr`. */
export function startHost(port: number, args: string[]): ChildProcess {
  return spawn(BINARY, ["--addr", `127.0.0.1:${port}`, ...args], { stdio: "ignore" });
}

/** Waits until `/healthz` on `port` answers (`up`) or no longer does; 60 s at most. */
export async function waitUp(port: number, up: boolean) {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok === up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`host on port ${port} did not become ${up ? "reachable" : "unreachable"}`);
}

/** Stops `host` (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits until `port` is free. */
export async function stopHost(host: ChildProcess, port: number, signal: NodeJS.Signals = "SIGTERM") {
  if (host.exitCode === null && host.signalCode === null) {
    host.kill(signal);
    await new Promise((r) => host.once("exit", r));
  }
  await waitUp(port, false);
}

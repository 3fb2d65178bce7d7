// spawn-sim.mjs: what the node tests of the unmodified npm clients (jsforce/, graphclient/)
// share: start one of our emulators on an ephemeral loopback port and wait for its
// "listening on HOST:PORT" line, call its /_sim control API, and stop it with a check that it
// exited cleanly. Plain ESM with no dependencies, imported by relative path.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// Runs bin with args (stderr passed through) and resolves to { proc, base } once it listens;
// base is `${scheme}://HOST:PORT`. Rejects when it exits first or says nothing for 10 s.
export async function startSim(name, bin, args, scheme = 'http') {
  assert.ok(bin, `the ${name} binary must be named`);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 10000);
    lines.on('line', (line) => {
      const m = /^listening on (\S+)$/.exec(line);
      if (m) { clearTimeout(timer); resolve(`${scheme}://${m[1]}`); }
    });
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { proc, base };
}

// A control call function for the emulator at base: (method, path, body) sends body as JSON,
// fails unless the answer is 2xx, and resolves to the parsed answer (null when empty).
export function simControl(base) {
  return async function control(method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

// SIGTERM, then the exit: anything but status 0 (a crash, a signal) fails the caller.
export async function stopSim(name, proc) {
  if (!proc) return;
  const exited = proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve([proc.exitCode, proc.signalCode])
    : new Promise((resolve) => proc.once('exit', (code, signal) => resolve([code, signal])));
  proc.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.equal(code, 0, `${name} exited with status ${code} signal ${signal}`);
}

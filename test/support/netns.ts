// Backends on non-loopback addresses, for tests whose endpoints must pass the apiserver's EndpointSlice
// validation (it rejects 127.0.0.0/8): a network namespace created by the test, joined to the host by a
// veth pair with addresses from 198.51.100.0/24 (TEST-NET-2). Traffic stays between the host and that
// namespace. Needs root and iproute2; `netnsUnavailable()` says why when it cannot work.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ECHO = fileURLToPath(new URL('./netns-echo.mjs', import.meta.url));

export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (the ip command) is not installed';
  return null;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export interface NetnsBackend {
  /** Address of the backend inside the namespace. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** A namespace `name` with an echo server on `198.51.100.<4n+2>:port`, reachable from the host. */
export async function startNetnsBackend(name: string, n: number, port: number, label: string): Promise<NetnsBackend> {
  const host = `198.51.100.${4 * n + 1}`;
  const inside = `198.51.100.${4 * n + 2}`;
  const [a, b] = [`pt${n}h`, `pt${n}n`];
  spawnSync('ip', ['netns', 'del', name]);
  spawnSync('ip', ['link', 'del', a]);
  ip('netns', 'add', name);
  ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  ip('link', 'set', b, 'netns', name);
  ip('addr', 'add', `${host}/30`, 'dev', a);
  ip('link', 'set', a, 'up');
  ip('-n', name, 'addr', 'add', `${inside}/30`, 'dev', b);
  ip('-n', name, 'link', 'set', b, 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  const child: ChildProcess = spawn('ip', ['netns', 'exec', name, process.execPath, ECHO, inside, String(port), label], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`echo server in ${name} exited with ${code}`)));
    child.stdout!.once('data', () => resolve());
  });
  return {
    address: inside,
    port,
    async close() {
      child.removeAllListeners('exit');
      child.kill();
      spawnSync('ip', ['netns', 'del', name]);
      spawnSync('ip', ['link', 'del', a]);
    },
  };
}

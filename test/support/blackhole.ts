// A TCP address whose connects hang: a listening socket that never accepts, with its accept queue
// filled, so further SYNs are dropped (Linux, tcp_abort_on_overflow=0). Node always accepts, so the
// socket is held by a small python3 process.
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = `
import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(8):
    c = socket.socket(); c.setblocking(False)
    try: c.connect((sys.argv[1], port))
    except BlockingIOError: pass
    fill.append(c)
time.sleep(0.2)
print(port, flush=True)
sys.stdin.read()
`;

export interface Blackhole {
  address: string;
  port: number;
  close(): void;
}

export function startBlackhole(address: string): Promise<Blackhole> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn('python3', ['-c', SCRIPT, address], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.on('error', reject);
    child.stdout!.once('data', (d: Buffer) => resolve({ address, port: Number(d.toString().trim()), close: () => child.kill() }));
  });
}

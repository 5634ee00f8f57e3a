// A throwaway real redis-server on loopback: no config file, nothing written to disk, bounded start and stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { getFreePort } from './free-port.js';

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The current process id (changes on restart). */
  pid: number;
  /** SIGTERM, then waits for the process to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** Stops and starts again on the same port, e.g. to test reconnects. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export function findRedisServer(): string {
  return findRedisExecutable('redis-server');
}

/** `redis-server`, `redis-sentinel` or `redis-cli`, on PATH or in /usr/bin (Debian's redis-server, redis-sentinel, redis-tools). */
export function findRedisExecutable(name: 'redis-server' | 'redis-sentinel' | 'redis-cli'): string {
  const candidates = [
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
    `/usr/bin/${name}`,
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  const pkg = name === 'redis-cli' ? 'redis-tools' : name;
  throw new Error(`${name} not found on PATH or at /usr/bin/${name}: apt-get install ${pkg}`);
}

/** One PING over a raw socket; resolves true on `+PONG`. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

export interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  dir: string;
  output: () => string;
}

export interface SpawnOptions {
  /** More `--option value` arguments (a replica's `--replicaof`, a cluster node's `--cluster-enabled`). */
  args?: string[];
  /** A sentinel: its config file's text (Sentinel rewrites it, so it lives in the temp dir), and no other argument. */
  sentinelConfig?: (dir: string) => string;
}

export async function spawnRedis(executable: string, port: number, options: SpawnOptions = {}): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'vallum-redis-'));
  const configFile = join(dir, 'sentinel.conf');
  if (options.sentinelConfig) await writeFile(configFile, options.sentinelConfig(dir));
  const args = options.sentinelConfig
    ? [configFile]
    : [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--logfile',
        '',
        ...(options.args ?? []),
      ];
  const child = spawn(executable, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      keep(Buffer.from(String(err)));
      resolve();
    });
  });
  const running: Running = { child, exited, dir, output: () => output };

  const deadline = Date.now() + START_TIMEOUT_MS;
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  while (!hasExited && Date.now() < deadline) {
    if (await pingRedis(port)) return running;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await terminate(running);
  throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms${hasExited ? ' (it exited)' : ''}:\n${output}`);
}

function isAlive(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

export function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (!isAlive(child) || child.pid === undefined) return;
  try {
    process.kill(child.pid, name);
  } catch {
    // it exited in the meantime
  }
}

export async function terminate(running: Running): Promise<void> {
  const { child } = running;
  if (isAlive(child)) {
    signal(child, 'SIGTERM');
    const timer = setTimeout(() => signal(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await running.exited;
    clearTimeout(timer);
  }
  await rm(running.dir, { recursive: true, force: true });
}

export async function startRedis(): Promise<RedisServer> {
  const executable = findRedisServer();
  const port = await getFreePort();
  let running: Running | undefined = await spawnRedis(executable, port);
  // If a test forgets stop(), do not leave an orphan redis-server behind when Node exits.
  const killOnExit = (): void => {
    if (running !== undefined) signal(running.child, 'SIGKILL');
  };
  process.on('exit', killOnExit);

  const stop = async (): Promise<void> => {
    const current = running;
    running = undefined;
    if (current !== undefined) await terminate(current);
  };

  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: running.child.pid ?? -1,
    async stop() {
      await stop();
      process.off('exit', killOnExit);
    },
    async restart() {
      await stop();
      running = await spawnRedis(executable, port);
      server.pid = running.child.pid ?? -1;
      process.off('exit', killOnExit);
      process.on('exit', killOnExit);
    },
  };
  return server;
}

// The start scripts of deploy/kubernetes/examples/redis-sentinel, run as they are with real redis-server and
// redis-sentinel processes on loopback (pod names become 127.0.0.1 and a port each): the first start makes pod 0 the
// master with two replicas under three Sentinels, and a master that comes back without its data (a rescheduled pod
// with a new emptyDir) waits for the failover and rejoins as a replica instead of wiping the set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getFreePort } from '@vallum/testing';
import { KUBERNETES_DIR } from './kubernetes-manifests.js';

const SCRIPTS = join(KUBERNETES_DIR, 'examples/redis-sentinel');
const PASSWORD = 'test-redis-password-0123456789';
const LOCALHOST = '127.0.0.1';

function redisCli(port: number, args: string[], password?: string): Promise<string> {
  const auth = password ? ['--no-auth-warning', '-a', password] : [];
  return new Promise((resolve) => {
    execFile('redis-cli', ['-h', LOCALHOST, '-p', String(port), ...auth, '--raw', ...args], { timeout: 5000 }, (err, stdout) =>
      resolve(err ? '' : stdout.trim()),
    );
  });
}

/** SIGTERM, then SIGKILL after 5 s; nothing for a process that has already exited (killed ones included). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the Sentinel example: its scripts build a master, two replicas and three Sentinels, and a master back without its data rejoins as a replica, keeping the sessions', async (t) => {
  const redisPorts = [await getFreePort(), await getFreePort(), await getFreePort()];
  const sentinelPorts = [await getFreePort(), await getFreePort(), await getFreePort()];
  const root = mkdtempSync(join(tmpdir(), 'vallum-sentinel-example-'));
  const children: ChildProcess[] = [];
  let output = '';
  t.after(async () => {
    for (const child of children) await stop(child);
    rmSync(root, { recursive: true, force: true });
  });
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    REDIS_PASSWORD: PASSWORD,
    SELF_HOST: LOCALHOST,
    FIRST_MASTER: `${LOCALHOST}:${redisPorts[0]}`,
    SENTINELS: sentinelPorts.map((p) => `${LOCALHOST}:${p}`).join(' '),
    BIND: LOCALHOST,
    DOWN_AFTER_MS: '2000',
    FAILOVER_TIMEOUT_MS: '4000',
    FAILOVER_WAIT_SECONDS: '40',
  };
  /** One pod: its own empty data directory (an emptyDir), the script as the container's command. */
  const startPod = (script: string, name: string, port: number): ChildProcess => {
    const dataDir = join(root, name);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const child = spawn('sh', [join(SCRIPTS, script)], { env: { ...env, SELF_PORT: String(port), DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push(child);
    return child;
  };
  const masterSeenBy = (sentinelPort: number) => redisCli(sentinelPort, ['sentinel', 'get-master-addr-by-name', 'vallum']).then((s) => s.replace('\n', ':'));
  const replication = (port: number) => redisCli(port, ['info', 'replication'], PASSWORD);

  // First start: no Sentinel answers yet. (In the cluster all pods start at once; here the Sentinels start once pod 0
  // answers, so a slow loopback start is not taken for a dead master.)
  const pods = redisPorts.map((port, i) => startPod('redis-start.sh', `redis-${i}`, port));
  try {
    await until(
      'pod 0 is the master of two replicas',
      () => replication(redisPorts[0]!),
      (info) => /role:master/.test(info) && info.split('state=online').length === 3,
    );
    sentinelPorts.forEach((port, i) => startPod('sentinel-start.sh', `sentinel-${i}`, port));
    for (const port of sentinelPorts) {
      await until(
        `Sentinel ${port} names pod 0`,
        () => masterSeenBy(port),
        (m) => m === `${LOCALHOST}:${redisPorts[0]}`,
      );
      await until(
        `Sentinel ${port} sees the quorum`,
        () => redisCli(port, ['sentinel', 'ckquorum', 'vallum']),
        (s) => /^OK 3 usable/.test(s),
      );
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${output}`);
  }

  await redisCli(redisPorts[0]!, ['set', 'vallum:session:k8s', 'alice'], PASSWORD);
  assert.equal(
    await redisCli(redisPorts[0]!, ['wait', '2', '2000'], PASSWORD),
    '2',
    `both replicas have the session:\n${await replication(redisPorts[0]!)}\n${output}`,
  );

  // Pod 0 is rescheduled: its process dies and a new pod starts at once with a fresh emptyDir.
  const gone = new Promise((r) => pods[0]!.once('exit', r));
  pods[0]!.kill('SIGKILL');
  await gone;
  startPod('redis-start.sh', 'redis-0', redisPorts[0]!);

  try {
    const promoted = await until(
      'the Sentinels promote a replica',
      () => masterSeenBy(sentinelPorts[0]!),
      (m) => m !== '' && m !== `${LOCALHOST}:${redisPorts[0]}`,
    );
    const promotedPort = Number(promoted.split(':')[1]);
    assert.ok(redisPorts.slice(1).includes(promotedPort), `promoted ${promoted}`);
    await until(
      'pod 0 rejoins as a replica of the new master',
      () => replication(redisPorts[0]!),
      (info) => /role:slave/.test(info) && info.includes(`master_port:${promotedPort}`) && /master_link_status:up/.test(info),
    );
    assert.equal(await redisCli(promotedPort, ['get', 'vallum:session:k8s'], PASSWORD), 'alice', 'the session survived on the new master');
    assert.equal(await redisCli(redisPorts[0]!, ['get', 'vallum:session:k8s'], PASSWORD), 'alice', 'and came back to pod 0');
    for (const port of sentinelPorts)
      await until(
        `Sentinel ${port} agrees`,
        () => masterSeenBy(port),
        (m) => m === promoted,
      );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${output}`);
  }
});

// scripts/test.mjs waits for another apt/dpkg job's lock (bounded, with one message) rather than failing on a fresh
// machine. The real dpkg lock is never touched: the wait is tried on a temporary file locked by util-linux's flock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface AptLock {
  aptInstallCommands(packages: string[]): string[];
  lockHolders(procLocks: string, paths: string[], stat?: (path: string) => { dev: number; ino: number }): Array<{ path: string; pid: number }>;
  readProcLocks(): string;
  waitForLocks(options: { paths: string[]; timeoutMs: number; pollMs?: number; say?: (line: string) => void }): boolean;
}

const aptLock = (await import(new URL('../../scripts/apt-lock.mjs', import.meta.url).href)) as AptLock;

test('every apt-get step also waits for the dpkg lock itself (DPkg::Lock::Timeout)', () => {
  assert.deepEqual(aptLock.aptInstallCommands(['redis-server', 'chromium']), [
    'apt-get -o DPkg::Lock::Timeout=300 update',
    'apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends redis-server chromium',
  ]);
});

test('lock holders are read from /proc/locks by device and inode; waiters hold nothing', () => {
  // dev 0xfe00 is major 0xfe, minor 0x00, which /proc/locks writes "fe:00".
  const stat = (path: string) => ({ dev: 0xfe00, ino: path === '/var/lib/dpkg/lock' ? 402116 : 402117 });
  const procLocks = [
    '1: POSIX  ADVISORY  WRITE 4242 fe:00:402116 0 EOF',
    '1: -> POSIX  ADVISORY  WRITE 4343 fe:00:402116 0 EOF',
    '2: FLOCK  ADVISORY  WRITE 77 fe:01:402117 0 EOF',
    '3: OFDLCK ADVISORY  READ  -1 fe:00:999 0 EOF',
  ].join('\n');
  assert.deepEqual(aptLock.lockHolders(procLocks, ['/var/lib/dpkg/lock', '/var/lib/apt/lists/lock'], stat), [{ path: '/var/lib/dpkg/lock', pid: 4242 }]);
});

/**
 * Holds an exclusive lock on `file` for `seconds` in a flock(1) process (`-o`: only flock holds it, so killing flock
 * releases it); resolves once /proc/locks shows it.
 */
async function holdLock(file: string, seconds: number) {
  const child = spawn('flock', ['-x', '-o', file, 'sleep', String(seconds)], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (aptLock.lockHolders(aptLock.readProcLocks(), [file]).length === 0) {
    assert.ok(Date.now() < deadline, 'flock took the lock');
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

test('a held lock is waited for with one message naming the holder, and the wait ends when it is released', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-apt-lock-')), 'lock');
  writeFileSync(file, '');
  // Held until the waiter has said it waits: a slow start of the waiter must not find the lock already free.
  const holder = await holdLock(file, 60);
  assert.deepEqual(aptLock.lockHolders(aptLock.readProcLocks(), [file]), [{ path: file, pid: holder.pid }]);
  const said: string[] = [];
  // Synchronous, as scripts/test.mjs calls it: run in a child so this process keeps reaping the holder.
  const started = Date.now();
  const waiter = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(new URL('../../scripts/apt-lock.mjs', import.meta.url).href)});
       const ok = m.waitForLocks({ paths: [${JSON.stringify(file)}], timeoutMs: 20000, pollMs: 50 });
       console.log(ok ? 'free' : 'timeout');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(waiter, 'exit');
  const waiting = new Promise<void>((resolve) => {
    waiter.stdout.on('data', (d: Buffer) => {
      said.push(...d.toString().trim().split('\n'));
      resolve();
    });
    void exited.then(() => resolve());
  });
  try {
    await waiting;
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    holder.kill();
  }
  await exited;
  const waited = Date.now() - started;
  assert.equal(said.length, 2, said.join('\n'));
  assert.match(said[0]!, new RegExp(`^waiting for another apt/dpkg process to finish \\(lock .* held by PID ${holder.pid} \\(flock\\); up to 20 s\\)$`));
  assert.equal(said[1], 'free');
  assert.ok(waited >= 300, `waited ${waited} ms for the holder`);
});

test('the wait is bounded: a lock held past the deadline gives up with false', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-apt-lock-')), 'lock');
  writeFileSync(file, '');
  const holder = await holdLock(file, 3);
  try {
    const said: string[] = [];
    assert.equal(aptLock.waitForLocks({ paths: [file], timeoutMs: 300, pollMs: 50, say: (l) => said.push(l) }), false);
    assert.equal(said.length, 1);
  } finally {
    holder.kill();
  }
});

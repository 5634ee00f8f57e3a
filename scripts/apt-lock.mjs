// Waiting for another apt/dpkg job (unattended-upgrades on a fresh machine, a cloud-init run) before `npm test`
// installs Debian packages, rather than failing at once. apt-get waits for the dpkg lock itself when given
// DPkg::Lock::Timeout, but `apt-get update` does not wait for the package lists' lock (apt 2.6), so the locks are
// also looked up in /proc/locks: which process holds them is printed once, then the wait is bounded.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';

/** The locks apt and dpkg take: the frontend lock, dpkg's, the package lists' and the download cache's. */
export const APT_LOCKS = ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock', '/var/lib/apt/lists/lock', '/var/cache/apt/archives/lock'];

export const APT_LOCK_TIMEOUT_S = 300;

/** The install command: each apt-get also waits (bounded) for the dpkg lock if another job takes it in between. */
export function aptInstallCommands(packages, timeoutS = APT_LOCK_TIMEOUT_S) {
  const aptGet = `apt-get -o DPkg::Lock::Timeout=${timeoutS}`;
  return [`${aptGet} update`, `${aptGet} install -y --no-install-recommends ${packages.join(' ')}`];
}

/**
 * Holders of the given lock files in the text of /proc/locks ("1: POSIX ADVISORY WRITE 1234 fe:00:402116 0 EOF"):
 * files are matched by device and inode, as the kernel lists them. fcntl locks (dpkg, apt) and flock locks count.
 */
export function lockHolders(procLocks, paths, stat = statSync) {
  const files = [];
  for (const path of paths) {
    try {
      const s = stat(path);
      const dev = Number(s.dev);
      files.push({ path, major: (dev >> 8) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00), ino: Number(s.ino) });
    } catch {
      // A lock file that does not exist is not held.
    }
  }
  const holders = [];
  for (const line of procLocks.split('\n')) {
    // Blocked waiters are listed as "1: -> POSIX ...": they hold nothing.
    const m = /^\d+:\s+(?!->)\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    const [major, minor, ino] = [Number.parseInt(m[2], 16), Number.parseInt(m[3], 16), Number(m[4])];
    const file = files.find((f) => f.ino === ino && f.major === major && f.minor === minor);
    if (file) holders.push({ path: file.path, pid: Number(m[1]) });
  }
  return holders;
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readProcLocks() {
  try {
    return readFileSync('/proc/locks', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Waits until none of `paths` is locked, at most `timeoutMs`; says once what it waits for. Returns false when the
 * locks are still held at the deadline. Synchronous, like the rest of scripts/test.mjs.
 */
export function waitForLocks({ paths = APT_LOCKS, timeoutMs = APT_LOCK_TIMEOUT_S * 1000, pollMs = 500, say = console.log, read = readProcLocks } = {}) {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let said = false;
  for (;;) {
    const holders = lockHolders(read(), paths);
    if (holders.length === 0) return true;
    if (Date.now() >= deadline) return false;
    if (!said) {
      const { pid, path } = holders[0];
      const command = commandOf(pid);
      say(
        `waiting for another apt/dpkg process to finish (lock ${path} held by PID ${pid}${command ? ` (${command})` : ''}; up to ${Math.round(timeoutMs / 1000)} s)`,
      );
      said = true;
    }
    Atomics.wait(pause, 0, 0, Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Installs Debian packages (as root): `apt-get update` then `install`, each after any other apt/dpkg job holding the
 * locks has finished, within `timeoutS` in all. Returns undefined when installed, else why not: apt-get's exit status,
 * or 'lock' when another job still held a lock at the deadline.
 */
export function installDebianPackages(packages, { timeoutS = APT_LOCK_TIMEOUT_S, say = console.log } = {}) {
  const deadline = Date.now() + timeoutS * 1000;
  for (const step of aptInstallCommands(packages, timeoutS)) {
    for (;;) {
      if (!waitForLocks({ timeoutMs: Math.max(0, deadline - Date.now()), say })) return 'lock';
      const run = spawnSync('sh', ['-c', step], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (run.status === 0) break;
      // Taken between the look and apt's own attempt: wait again, within the same bound.
      if (lockHolders(readProcLocks(), APT_LOCKS).length === 0 || Date.now() >= deadline) return run.status;
    }
  }
  return undefined;
}

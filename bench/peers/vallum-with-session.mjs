// Vallum all-in-one for the benchmark, plus one signed-in session for the authenticated route: the session is put
// into the Redis store Vallum uses, and its cookie printed. Usage: node vallum-with-session.mjs CONFIG_FILE [WORKERS]
// Started as the `vallum` command starts it: the same V8 settings before loading, the same garbage pacer. With
// WORKERS, the `vallum` command itself runs as a child (`vallum --workers WORKERS`), so its primary and workers are
// this process's descendants, whose CPU time the benchmark adds up.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { tuneStartupHeap } from '../../cmd/vallum/dist/process-memory.js';

tuneStartupHeap();
const { loadVallumConfig, startVallum, createGarbagePacer, restoreHeapGrowth } = await import('@vallum/cmd');
const { createRedisStore } = await import('@vallum/cache');
const { createSessionCookieCodec } = await import('@vallum/session');

const config = loadVallumConfig(process.argv[2]);
const store = createRedisStore(config.redisUrl, { tokenSecret: config.tokenEncryptionSecret });
const now = Date.now();
const session = { id: randomUUID(), sub: 'alice', email: 'alice@example.com', groups: ['admins'], claims: {}, createdAt: now, expiresAt: now + 3_600_000 };
await store.putSession(session);
await store.close();
const cookie = await createSessionCookieCodec(config.cookieSecret).seal({ sid: session.id, expiresAt: session.expiresAt });
const workers = process.argv[3];
if (workers === undefined) {
  await startVallum(config, { garbagePacer: createGarbagePacer() });
  restoreHeapGrowth();
  // A clean exit writes the --cpu-prof profile when the benchmark profiles Vallum.
  process.on('SIGTERM', () => process.exit(0));
} else {
  const bin = fileURLToPath(new URL('../../cmd/vallum/bin/vallum.js', import.meta.url));
  // The V8 flags this process was started with (the launcher's), as the `vallum` command passes them on.
  const flags = process.execArgv.filter((a) => a.startsWith('--max-semi-space-size'));
  const vallum = spawn(process.execPath, [...flags, bin, '--config', process.argv[2], '--workers', workers], { stdio: ['ignore', 'inherit', 'inherit'] });
  vallum.once('exit', (code) => {
    console.error(`vallum --workers ${workers} exited with ${code}`);
    process.exit(1);
  });
  // It logs at warn: ready when its health check answers.
  for (;;) {
    const up = await fetch(`http://${config.address}/.vallum/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.on('SIGTERM', () => {
    vallum.removeAllListeners('exit');
    vallum.once('exit', () => process.exit(0));
    vallum.kill('SIGTERM');
  });
}
console.log(`ready ${config.cookieName}=${cookie}`);

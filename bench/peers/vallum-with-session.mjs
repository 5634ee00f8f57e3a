// Vallum all-in-one for the benchmark, plus one signed-in session for the authenticated route: the session is put
// into the Redis store Vallum uses, and its cookie printed. Usage: node vallum-with-session.mjs CONFIG_FILE
// Started as the `vallum` command starts it: the same V8 settings before loading, the same garbage pacer.
import { randomUUID } from 'node:crypto';
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
await startVallum(config, { garbagePacer: createGarbagePacer() });
restoreHeapGrowth();
// A clean exit writes the --cpu-prof profile when the benchmark profiles Vallum.
process.on('SIGTERM', () => process.exit(0));
console.log(`ready ${config.cookieName}=${cookie}`);

// Starts bench/scale/parts/vallum-process.mjs on a config and talks to it over IPC.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./vallum-process.mjs', import.meta.url));

export async function startVallumProcess(configFile) {
  const child = fork(script, [configFile], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  child.stderr.on('data', (d) => {
    const text = String(d);
    if (!/Deprecation|trace-warnings|Unsupported runtime/.test(text)) process.stderr.write(text);
  });
  const waiting = [];
  child.on('message', (m) => waiting.shift()?.(m));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`Vallum's process exited with ${code}`))));
  exited.catch(() => {});
  const ask = (message) => {
    const answer = next();
    child.send(message);
    return Promise.race([answer, exited]);
  };
  const ready = await Promise.race([next(), exited]);
  return {
    pid: child.pid,
    port: ready.port,
    cookieName: ready.cookieName,
    memory: async () => (await ask({ type: 'memory' })).memory,
    mint: async (count, from) => (await ask({ type: 'mint', count, from })).cookies,
    async stop() {
      child.removeAllListeners('exit');
      const gone = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A config for vallum-process.mjs with an authenticated route to `to` (HTTP and WebSocket). */
export function benchConfig(port, to, extra = '') {
  return `address: 127.0.0.1:${port}
authenticate_service_url: http://authenticate.localhost:${port}
idp: { issuer: "http://127.0.0.1:9", client_id: bench, client_secret: bench, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
log_level: warn
cache: { memory_max_sessions: 1000000 }
${extra}routes:
  - from: http://app.localhost:${port}
    to: ${to}
    allow_websockets: true
    policy: { allow: { or: [ { groups: { has: engineering } } ] } }
`;
}

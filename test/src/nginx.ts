// A real nginx on loopback for tests: no daemon, no master process, every path under a temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stopChild } from './harness.js';

/**
 * Starts nginx with `http` (the inside of its `http { }` block: upstreams and servers listening on `port`) and waits
 * (10 s at most) until `readyPath` on `port` answers at all. Its error log (level warn) goes to `onOutput`. Stop it
 * with `stopChild`.
 */
export async function startNginx(port: number, http: string, options: { readyPath?: string; onOutput?: (text: string) => void } = {}): Promise<ChildProcess> {
  const { readyPath = '/.vallum/healthz', onOutput } = options;
  const dir = mkdtempSync(join(tmpdir(), 'vallum-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
${http}
}
`,
  );
  const child = spawn(existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx', ['-p', dir, '-c', conf, '-e', 'stderr'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
    onOutput?.(d.toString());
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output}`);
    const up = await request(`http://127.0.0.1:${port}${readyPath}`).then(
      async (r) => (await r.body.text(), true),
      () => false,
    );
    if (up) return child;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`nginx did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

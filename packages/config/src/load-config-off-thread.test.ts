// A big config loaded for a reload has its YAML parsed in a worker thread; what it loads into, and how its problems
// read, are those of the loader on the event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, loadConfigFileOffThread } from './index.js';

/** A config of `count` routes: well over the size that goes to the worker at 2,000. */
function bigConfig(count: number, broken = ''): string {
  const routes = Array.from(
    { length: count },
    (_, i) =>
      `  - { from: "http://h${i % 50}.localhost:8000", prefix: "/r${i}/", to: "http://127.0.0.1:9${i % 10}00", allow_public_unauthenticated_access: true }`,
  );
  return `authenticate_service_url: http://authenticate.localhost:8000
idp: { issuer: "http://127.0.0.1:9", client_id: vallum, client_secret: s, allow_insecure_http: true }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
log_level: info
routes:
${routes.join('\n')}
${broken}`;
}

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vallum-off-thread-')), 'vallum.yaml');
  writeFileSync(file, text);
  return file;
}

async function issues(load: () => Promise<unknown>): Promise<string[]> {
  try {
    await load();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.location}: ${i.message}`);
  }
  assert.fail('expected the config to be refused');
}

test('a big config loads off the thread into the config the event-loop loader builds', async () => {
  const file = write(bigConfig(2000));
  const env = { VALLUM_LOG_LEVEL: 'debug' };
  const offThread = await loadConfigFileOffThread(file, { env });
  const onLoop = loadConfigFile(file, { env });
  assert.equal(offThread.routes.length, 2000);
  assert.equal(offThread.logLevel, 'debug', 'environment overrides apply');
  assert.deepEqual(
    offThread.routes.map((r) => [r.id, r.host, r.prefix, r.to[0]!.href]),
    onLoop.routes.map((r) => [r.id, r.host, r.prefix, r.to[0]!.href]),
  );
  assert.ok(Object.isFrozen(offThread.routes[1999]));
});

test('problems in a big config are located as the event-loop loader locates them', async () => {
  const broken = `  - { from: "http://x.localhost:8000", to: "not a url", allow_public_unauthenticated_access: true, colour: red }\n`;
  const file = write(bigConfig(2000, broken));
  const offThread = await issues(() => loadConfigFileOffThread(file, { env: {} }));
  const onLoop = await issues(async () => loadConfigFile(file, { env: {} }));
  assert.deepEqual(offThread, onLoop);
  assert.ok(
    offThread.some((i) => i.startsWith(`${file}:2007:`)),
    offThread.join('\n'),
  );

  const syntax = write(bigConfig(2000, '  - { from: [unclosed\n'));
  const syntaxOffThread = await issues(() => loadConfigFileOffThread(syntax, { env: {} }));
  assert.deepEqual(syntaxOffThread, await issues(async () => loadConfigFile(syntax, { env: {} })));
  assert.match(syntaxOffThread[0]!, /YAML syntax/);
});

test('a file that cannot be read is a read error', async () => {
  await assert.rejects(loadConfigFileOffThread(join(tmpdir(), 'no-such-vallum.yaml')), { code: 'VALLUM_CONFIG_READ' });
});

// The decision benchmark stays runnable, and its policies decide what it claims (it checks that itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('bench/policy-decision.mjs --quick prints a row for 1, 100 and 10,000 rules', () => {
  const bench = fileURLToPath(new URL('../../bench/policy-decision.mjs', import.meta.url));
  const run = spawnSync(process.execPath, [bench, '--quick'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  for (const rules of ['1', '100', '10,000']) assert.match(run.stdout, new RegExp(`^\\| ${rules} \\| [\\d.]+ \\| [\\d.]+ \\|`, 'm'));
});

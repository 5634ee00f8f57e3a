import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRepeatedLog, errorFields, operationalCode, type LogSink } from './repeated-log.js';

function sink() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const write = (level: string) => (fields: object, message: string) => lines.push({ level, fields: fields as Record<string, unknown>, message });
  const log: LogSink = { error: write('error'), warn: write('warn'), info: write('info') };
  return { log, lines };
}

test('an error repeated 4,211 times in 10 s is one line at once and one summary with the count', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  const { log, lines } = sink();
  const repeated = createRepeatedLog(log, { intervalMs: 10_000 });
  for (let i = 0; i < 4212; i++) repeated.write('warn', 'upstream:app', { route: 'app' }, 'upstream app unavailable');
  assert.deepEqual(lines, [{ level: 'warn', fields: { route: 'app' }, message: 'upstream app unavailable' }]);
  t.mock.timers.tick(10_000);
  assert.equal(lines.length, 2);
  assert.equal(lines[1]!.message, 'upstream app unavailable (repeated 4,211 times in 10 s)');
  assert.deepEqual(lines[1]!.fields, { route: 'app', repeated: 4211, seconds: 10 });
  repeated.close();
});

test('different keys are written apart; a key quiet for an interval is written at once when it comes back', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  const { log, lines } = sink();
  const repeated = createRepeatedLog(log, { intervalMs: 1000 });
  repeated.write('warn', 'a', {}, 'a down');
  repeated.write('error', 'b', {}, 'b down');
  repeated.write('warn', 'a', {}, 'a down');
  assert.deepEqual(
    lines.map((l) => l.message),
    ['a down', 'b down'],
  );
  t.mock.timers.tick(1000);
  assert.deepEqual(
    lines.map((l) => l.message),
    ['a down', 'b down', 'a down (repeated 1 time in 1 s)'],
  );
  // Nothing new for a whole interval: both are forgotten, and the timer stops.
  t.mock.timers.tick(1000);
  t.mock.timers.tick(1000);
  assert.equal(lines.length, 3);
  repeated.write('warn', 'a', {}, 'a down');
  assert.equal(lines.length, 4, 'written at once after a quiet interval');
  repeated.close();
});

test('close writes what is still counted', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  const { log, lines } = sink();
  const repeated = createRepeatedLog(log, { intervalMs: 10_000 });
  repeated.write('warn', 'k', {}, 'store unavailable');
  repeated.write('warn', 'k', {}, 'store unavailable');
  t.mock.timers.tick(3000);
  repeated.close();
  assert.deepEqual(
    lines.map((l) => l.message),
    ['store unavailable', 'store unavailable (repeated 1 time in 3 s)'],
  );
});

test('past maxKeys, lines are written as they come rather than kept', () => {
  const { log, lines } = sink();
  const repeated = createRepeatedLog(log, { maxKeys: 1 });
  repeated.write('warn', 'a', {}, 'a');
  repeated.write('warn', 'b', {}, 'b');
  repeated.write('warn', 'b', {}, 'b');
  repeated.write('warn', 'a', {}, 'a');
  assert.deepEqual(
    lines.map((l) => l.message),
    ['a', 'b', 'b'],
  );
  repeated.close();
});

test('connection refused, reset and timeouts are logged without a stack; other errors keep theirs', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const wrapped = Object.assign(new Error('The application is not reachable right now.', { cause: refused }), { code: 'VALLUM_UPSTREAM_UNAVAILABLE' });
  assert.equal(operationalCode(wrapped), 'ECONNREFUSED');
  assert.equal(operationalCode(new AggregateError([refused])), 'ECONNREFUSED');
  assert.deepEqual(errorFields(wrapped), {
    code: 'VALLUM_UPSTREAM_UNAVAILABLE',
    cause: 'ECONNREFUSED',
    error: 'The application is not reachable right now.',
  });
  const bug = new TypeError('x is undefined');
  assert.equal(operationalCode(bug), undefined);
  assert.deepEqual(errorFields(bug), { err: bug });
});

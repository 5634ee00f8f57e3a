import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DURATION_PATTERN, parseDuration, parseListenAddress } from './index.js';

test('durations: single units and Go-style compounds (1h30m, 1m30s), summed as time.ParseDuration does', () => {
  const cases: Array<[string, number]> = [
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['14h', 50_400_000],
    ['7d', 604_800_000],
    ['0s', 0],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['2h45m30s', 9_930_000],
    ['1s500ms', 1500],
    ['1.5h', 5_400_000],
  ];
  for (const [text, ms] of cases) {
    assert.equal(parseDuration(text), ms, text);
    assert.match(text, new RegExp(DURATION_PATTERN), text);
  }
  for (const bad of ['', '30', 'h', '1h 30m', '1x', '-1s', '1h30', 'ms', '1.s']) {
    assert.throws(() => parseDuration(bad), /invalid duration/, bad);
    assert.doesNotMatch(bad, new RegExp(DURATION_PATTERN), bad);
  }
});

test('listen addresses: host:port, :port, [v6]:port; anything else is refused with what was expected', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8000'), { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseListenAddress(':8443'), { host: '0.0.0.0', port: 8443 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseListenAddress('localhost'), /address: expected host:port, :port or \[v6\]:port, got 'localhost'/);
  assert.throws(() => parseListenAddress('127.0.0.1:99999'), /address: port out of range in '127\.0\.0\.1:99999'/);
});

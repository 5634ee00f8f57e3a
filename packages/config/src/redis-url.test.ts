import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisUrl } from './index.js';

test('redis:// and rediss:// pass through as written', () => {
  assert.deepEqual(parseRedisUrl('redis://:pw@r:6379/2'), { target: { kind: 'standalone', url: 'redis://:pw@r:6379/2' } });
  assert.deepEqual(parseRedisUrl('rediss://r'), { target: { kind: 'standalone', url: 'rediss://r' } });
});

test('redis+sentinel:// names the sentinels, the master and the database (default 0 and port 26379)', () => {
  assert.deepEqual(parseRedisUrl('redis+sentinel://:p%40ss@s1:26380,s2,[::1]:26381/mymaster/3'), {
    target: {
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'mymaster',
      db: 3,
      password: 'p@ss',
    },
  });
  assert.deepEqual(parseRedisUrl('redis+sentinel://s1:1/m'), { target: { kind: 'sentinel', sentinels: [{ host: 's1', port: 1 }], masterName: 'm', db: 0 } });
});

test('redis+cluster:// lists seed nodes, with an ACL user when given', () => {
  assert.deepEqual(parseRedisUrl('redis+cluster://app:pw@n1:7000,n2:7001'), {
    target: {
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      username: 'app',
      password: 'pw',
    },
  });
});

test('a wrong redis_url says what is wrong and never repeats the password', () => {
  const cases: Array<[string, RegExp]> = [
    ['http://:hunter2@r:6379', /expected a redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL, got scheme 'http'/],
    ['redis+sentinel://:hunter2@s1:26379', /names the master/],
    ['redis+sentinel://:hunter2@s1:26379/m/x', /database after the master name must be a number/],
    ['redis+cluster://:hunter2@n1:7000/1', /has no path/],
    ['redis+cluster://:hunter2@n1:70000', /node 1 of the list: port 70000 is out of range/],
    ['redis+cluster://:hun@ter2@n1:7000', /node 1 of the list: expected host\[:port\] \(percent-encode @/],
    ['redis+cluster://:hunter2@n1:7000,', /node 2 of the list/],
    ['redis://:hunter2@r:6379/abc', /database number/],
  ];
  for (const [url, message] of cases) {
    const parsed = parseRedisUrl(url);
    assert.ok('error' in parsed, url);
    assert.match(parsed.error, message);
    assert.doesNotMatch(parsed.error, /hunter2|ter2/);
  }
});

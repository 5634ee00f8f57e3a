import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostnameOf, upstreamTlsOptions } from './upstream-connection.js';

const tls = { ca: 'CA', skipVerify: false, cert: undefined, key: undefined };

test('TLS options: none for http; the server name only for host names, IPv6 brackets dropped', () => {
  assert.deepEqual(upstreamTlsOptions(tls, new URL('http://app.internal:8080')), {});
  assert.equal((upstreamTlsOptions(tls, new URL('https://app.internal')) as { servername?: string }).servername, 'app.internal');
  for (const ip of ['https://10.0.0.7:8443', 'https://[::1]:8443']) {
    const o = upstreamTlsOptions({ ...tls, skipVerify: true }, new URL(ip));
    assert.equal('servername' in o, false, ip);
    assert.equal((o as { rejectUnauthorized?: boolean }).rejectUnauthorized, false);
  }
  assert.equal(hostnameOf(new URL('http://[::1]:80/')), '::1');
});

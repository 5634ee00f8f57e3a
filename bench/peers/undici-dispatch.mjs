// Peer: the spike, the floor for a Node proxy — a bare node:http server forwarding through undici
// Pool.dispatch with a raw handler writing straight into the response. No routing, no auth, no header rules.
// Usage: node undici-dispatch.mjs PORT UPSTREAM_URL. With IDENTITY_BYTES=1 it also sends upstream the bytes an
// authenticated Vallum request carries (a ~700-byte JWT and two claim headers): what those bytes alone cost.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 128 });
const IDENTITY = { 'x-vallum-jwt-assertion': 'e'.repeat(700), 'x-vallum-claim-email': 'alice@example.com', 'x-vallum-claim-groups': 'admins' };
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);

createServer((req, res) => {
  const headers = process.env.IDENTITY_BYTES ? { ...IDENTITY } : {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && k !== 'host') headers[k] = v;
  pool.dispatch(
    { path: req.url, method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    {
      onConnect() {},
      onHeaders(status, raw, resume) {
        const out = [];
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i].toString('latin1').toLowerCase();
          if (!HOP.has(name)) out.push(name, raw[i + 1].toString('latin1'));
        }
        res.writeHead(status, out);
        res.on('drain', resume);
        return true;
      },
      onData(chunk) {
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    },
  );
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));

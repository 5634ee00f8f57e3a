// Peer: http-proxy (node-http-proxy) with a keep-alive agent. Usage: node node-http-proxy.mjs PORT UPSTREAM_URL
import { createServer, Agent } from 'node:http';
import httpProxy from 'http-proxy';

const [port, upstream] = process.argv.slice(2);
const proxy = httpProxy.createProxyServer({ target: upstream, agent: new Agent({ keepAlive: true, maxSockets: 256 }) });
proxy.on('error', (_err, _req, res) => {
  res.writeHead?.(502);
  res.end();
});
createServer((req, res) => proxy.web(req, res)).listen(Number(port), '127.0.0.1', () => console.log('ready'));

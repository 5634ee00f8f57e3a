// Peer: @fastify/http-proxy in front of the upstream. Usage: node fastify-http-proxy.mjs PORT UPSTREAM_URL
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const [port, upstream] = process.argv.slice(2);
const app = Fastify({ logger: false });
await app.register(proxy, { upstream });
await app.listen({ port: Number(port), host: '127.0.0.1' });
console.log('ready');

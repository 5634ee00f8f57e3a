// The upstream WebSocket server of bench/scale/websockets.mjs, in a process of its own so that its sockets do not
// count against the bench's open-file limit: the handshake (RFC 6455), then an echo of a client's first small text
// frame, unmasked. Answers { type: 'count' } over IPC with the connections it holds.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const sockets = new Set();
const server = createServer((_req, res) => res.writeHead(426).end());
server.on('upgrade', (req, socket) => {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  sockets.add(socket);
  socket.on('error', () => {});
  socket.once('close', () => sockets.delete(socket));
  // As WebSocket servers do (ws among them): the peer's end of the stream closes the connection. (Vallum keeps both
  // sides of a tunnel open while an upstream keeps a half-closed connection open.)
  socket.once('end', () => socket.destroy());
  socket.once('data', (frame) => {
    const length = frame[1] & 0x7f;
    const mask = frame.subarray(2, 6);
    const payload = Buffer.from(frame.subarray(6, 6 + length)).map((b, i) => b ^ mask[i % 4]);
    socket.write(Buffer.concat([Buffer.from([0x81, length]), payload]));
  });
});
server.listen(0, '127.0.0.1', 1024, () => process.send({ type: 'ready', port: server.address().port }));
process.on('message', (m) => {
  if (m.type === 'count') process.send({ type: 'count', count: sockets.size });
  else if (m.type === 'stop') {
    for (const s of sockets) s.destroy();
    server.close(() => process.exit(0));
  }
});

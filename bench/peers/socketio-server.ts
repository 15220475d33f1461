/**
 * The Socket.IO 4 peer of the server benchmarks, run as a child process so its CPU and memory are
 * its own. It does Switchboard's work the way a Socket.IO application would: a connection signs in
 * with the access token in its handshake `auth` (checked by a middleware, the user kept in
 * `socket.data`, the socket joined to its user's room), `subscribe {topic}` joins the topic's room
 * and answers `subscribed`, and each publish is one `io.to(topic).emit(...)` (Socket.IO encodes a
 * broadcast once and writes the same WebSocket frame to every socket). Socket.IO's defaults are
 * kept; it has no durable log, no sequence of its own and no conflation: the peer numbers news
 * events itself and sends every price tick. Only the WebSocket transport is offered unless
 * `PEER_SOCKETIO_TRANSPORTS` names others (`polling,websocket` for the transports bench).
 */
import { Server } from 'socket.io';
import { createPublishServer, listen, verifyToken } from './peer-common';

const http = createPublishServer({
  news: (event) => io.to('news').emit('event', event),
  price: (state) => io.to(state.topic).emit('state', state),
});
type Transport = 'polling' | 'websocket' | 'webtransport';
const transports = (process.env.PEER_SOCKETIO_TRANSPORTS?.split(',') ?? ['websocket']) as Transport[];
const io = new Server(http, { transports });

io.use((socket, next) => {
  verifyToken((socket.handshake.auth as { token?: unknown }).token).then(
    (user) => {
      if (user === null) return next(new Error('unauthorized'));
      socket.data.user = user;
      void socket.join(`feed:${user}`);
      next();
    },
    () => next(new Error('unauthorized')),
  );
});

io.on('connection', (socket) => {
  socket.on('subscribe', (request: { topic?: unknown }) => {
    if (typeof request?.topic !== 'string') return;
    void socket.join(request.topic);
    socket.emit('subscribed', { topic: request.topic });
  });
});

listen(http, 'socket.io peer');

// The benchmark semantics on Socket.IO 4.8 with its native rooms, websocket
// transport only.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 8200);
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.on('join', (room) => {
    socket.join(room);
    socket.emit('joined', room);
  });
  socket.on('say', (payload) => {
    const rooms = [...socket.rooms].filter((r) => r !== socket.id);
    socket.to(rooms).emit('said', payload);
  });
  socket.on('echo', (payload) => socket.emit('echo', payload));
});
http.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));

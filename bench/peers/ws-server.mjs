// The benchmark semantics on Node's ws 8, with a Map of rooms.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 8100);
const rooms = new Map(); // room -> Set of sockets

const wss = new WebSocketServer({ port, host: '127.0.0.1' });
wss.on('connection', (ws) => {
  ws.rooms = new Set();
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    const { event, payload } = message;
    if (event === 'join') {
      if (!rooms.has(payload)) rooms.set(payload, new Set());
      rooms.get(payload).add(ws);
      ws.rooms.add(payload);
      ws.send(JSON.stringify({ event: 'joined', payload }));
    } else if (event === 'say') {
      const frame = JSON.stringify({ event: 'said', payload });
      const seen = new Set();
      for (const room of ws.rooms)
        for (const member of rooms.get(room) ?? [])
          if (member !== ws && !seen.has(member)) {
            seen.add(member);
            member.send(frame);
          }
    } else if (event === 'echo') {
      ws.send(JSON.stringify({ event: 'echo', payload }));
    }
  });
  ws.on('close', () => {
    for (const room of ws.rooms) {
      const members = rooms.get(room);
      members.delete(ws);
      if (members.size === 0) rooms.delete(room);
    }
  });
});
wss.on('listening', () => console.log(`listening on ${port}`));

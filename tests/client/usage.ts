// Compiled (never run) by types.test.mjs: the declarations must accept the
// README's usage and reject misuse.
import MicroSocket, { ReconnectingMicroSocket, type Handler } from 'microsockets';

const ws = MicroSocket('ws://127.0.0.1:8000/', ['v1']);
ws.on<string>('joined', (payload, event, message) => console.log(payload.length, event, message.data));
ws.off('joined');
ws.send('join', JSON.stringify({ room: 'r', user: 'u' }));
ws.send('ping');
ws.close(1000);
const state: number = ws.readyState;

const handler: Handler = (payload) => console.log(payload);
const rs: ReconnectingMicroSocket = MicroSocket.reconnecting('ws://127.0.0.1:8000/', { maxQueue: 10 });
const queued: boolean = rs.send('message', 'hi');
rs.on('message', handler).off('message', handler);
rs.addEventListener('reconnect', () => rs.close());

// @ts-expect-error an event name is a string
ws.on(42, handler);
// @ts-expect-error options are checked
MicroSocket.reconnecting('ws://x', { maxQueue: 'many' });

export { state, queued };

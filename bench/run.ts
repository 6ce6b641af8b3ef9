// `npm run bench`: the speed targets, measured on loopback against the real Redis. Not a test: it prints figures.
import { benchAck } from './ack.js';

const lines = await benchAck();
for (const l of lines) process.stdout.write(`${l}\n`);
process.exit(0);

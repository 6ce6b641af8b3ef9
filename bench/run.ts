// `npm run bench`: the speed targets, measured on loopback against the real Redis. Not a test: it prints figures.
import { execFileSync } from 'node:child_process';
import { benchAck } from './ack.js';

// The load generator stays off the servers' core.
execFileSync('taskset', ['-p', '-c', '0', String(process.pid)]);

const lines = await benchAck();
for (const l of lines) process.stdout.write(`${l}\n`);
process.exit(0);

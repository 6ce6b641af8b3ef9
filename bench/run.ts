// `npm run bench`: the speed targets, measured on loopback against the real Redis. Not a test: it prints figures.
import { execFileSync } from 'node:child_process';
import { benchAck } from './ack.js';
import { benchAlerts } from './alerts.js';
import { benchInventory } from './inventory.js';
import { benchTeams } from './teams.js';

// The load generator stays off the servers' core.
execFileSync('taskset', ['-p', '-c', '0', String(process.pid)]);

const only = process.argv[2];
if (!only || only === 'ack') for (const l of await benchAck()) process.stdout.write(`${l}\n`);
if (!only || only === 'alerts') for (const l of await benchAlerts()) process.stdout.write(`${l}\n`);
if (!only || only === 'inventory') for (const l of await benchInventory()) process.stdout.write(`${l}\n`);
if (!only || only === 'teams') for (const l of await benchTeams()) process.stdout.write(`${l}\n`);
process.exit(0);

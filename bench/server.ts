// One server under benchmark, in its own process so the load generator does not share its event loop:
// `bare` is a Bolt app that acks /scicomp with no work; `scicomp` is the real web process (no workers).
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import { SandboxCatalog } from '../src/sandbox/catalog.js';
import { dropPrefix, Harness, SIGNING_SECRET } from '../test/support/harness.js';

const kind = process.argv[2];
let stop: () => Promise<void>;
let port: number;
if (kind === 'bare') {
  const receiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ receiver, authorize: async () => ({ botToken: 'xoxb-bare' }), logLevel: LogLevel.ERROR });
  app.command('/scicomp', async ({ ack }) => ack());
  const server = await receiver.start(0);
  port = (server.address() as AddressInfo).port;
  stop = () => receiver.stop();
} else {
  const h = await Harness.start({ catalog: new SandboxCatalog(), workers: false, prefix: `bench${process.pid}` });
  port = Number(new URL(h.url).port);
  stop = async () => {
    await dropPrefix(h.app);
    await h.close();
  };
}
process.send?.({ port });
process.on('message', async (m) => {
  if (m === 'stop') {
    await stop();
    process.exit(0);
  }
});

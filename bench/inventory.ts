// `/scicomp list` and `status` on an account of 10,000 provisioned products at 200 ms a Service Catalog call: latency from
// the signed command to the reply at the recording Slack API, and calls per command, reading the inventory beside
// reading the whole account each time (as before the inventory), in the same run.
import type { ChildProcess } from 'node:child_process';
import { SIGNING_SECRET } from '../test/support/harness.js';
import { sign, slashCommandBody } from '../test/support/signed.js';
import { SlackApi } from '../test/support/slack-api.js';
import { child, stopServer } from './ack.js';

const PRODUCTS = 10_000;
const LATENCY_MS = 200;
/** Commands timed through the inventory, one after another, each from a different owner. */
const INVENTORY_COMMANDS = 200;
/** Commands timed through full scans: each takes 100 pages × 200 ms, so they run all at once. */
const SCAN_COMMANDS = 8;

interface Ready {
  port: number;
  warmMs: number;
  warmCalls: number;
}

function p(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function callsOf(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const calls = (m as { calls?: number }).calls;
      if (calls === undefined) return;
      proc.off('message', on);
      resolve(calls);
    };
    proc.on('message', on);
    proc.send('calls');
  });
}

export async function benchInventory(): Promise<string[]> {
  const slack = await new SlackApi().start();
  let seq = 0;
  /** One signed command; resolves with its latency once its reply reaches the recording Slack API, and the reply. */
  const command = async (port: number, userId: string, text: string): Promise<{ ms: number; reply: string }> => {
    const responseId = `inv${++seq}`;
    const body = slashCommandBody({ userId, text, responseUrl: slack.responseUrl(responseId) });
    const t0 = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body, headers: sign(SIGNING_SECRET, body) });
    await res.arrayBuffer();
    const deadline = t0 + 120_000;
    while (Date.now() < deadline) {
      const call = slack.calls.find((c) => c.method === 'response_url' && c.body.responseId === responseId);
      if (call) return { ms: call.at - t0, reply: JSON.stringify(call.body) };
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`no reply to ${text} from ${userId}`);
  };
  const env = (read: string) => ({
    BENCH_SLACK_URL: slack.url,
    BENCH_READ: read,
    BENCH_PREFIX: `benchinv${read}${Date.now()}`,
    SANDBOX_PRODUCTS: String(PRODUCTS),
    SANDBOX_API_LATENCY_MS: String(LATENCY_MS),
  });
  // Both start at once: the inventory's first snapshot (about 100 pages) runs while the scans are timed.
  const [scan, inventory] = await Promise.all([child<Ready>(['inventory'], env('scan')), child<Ready>(['inventory'], env('inventory'))]);
  try {
    /** Owner k (useed<k>@synapse.org, Slack user USEED<k>) owns useed<k>-p0 … p9. */
    const list = (k: number) => ({ user: `USEED${k}`, text: 'list', ok: (r: string) => r.includes('You have 10 provisioned products') });
    const status = (k: number) => ({ user: `USEED${k}`, text: `status useed${k}-p3`, ok: (r: string) => r.includes(`useed${k}-p3: AVAILABLE`) });
    type Command = ReturnType<typeof list>;
    const time = async (server: { child: ChildProcess; first: Ready }, commands: Command[], together: boolean) => {
      const calls0 = await callsOf(server.child);
      const run = (c: Command) => command(server.first.port, c.user, c.text);
      const results: { ms: number; reply: string }[] = [];
      if (together) results.push(...(await Promise.all(commands.map(run))));
      else for (const c of commands) results.push(await run(c));
      const calls = (await callsOf(server.child)) - calls0;
      return { results, wrong: results.filter((r, i) => !commands[i]!.ok(r.reply)).length, perCommand: calls / commands.length };
    };
    const stats = (ms: number[]) => `p50 ${p(ms, 0.5).toFixed(0)} ms p95 ${p(ms, 0.95).toFixed(0)} ms (n=${ms.length})`;
    const wrong = (n: number) => (n ? `, ${n} WRONG answers` : '');
    // The scans all at once (each is 100 pages one after another); their calls are counted together.
    const scanned = await time(scan, [...Array.from({ length: SCAN_COMMANDS }, (_, i) => list(i)), ...Array.from({ length: SCAN_COMMANDS }, (_, i) => status(SCAN_COMMANDS + i))], true);
    const scanMs = scanned.results.map((r) => r.ms);
    const invList = await time(inventory, Array.from({ length: INVENTORY_COMMANDS }, (_, i) => list(100 + i)), false);
    const invStatus = await time(inventory, Array.from({ length: INVENTORY_COMMANDS / 2 }, (_, i) => status(400 + i)), false);
    const listMs = invList.results.map((r) => r.ms);
    const ok = p(listMs, 0.95) < 300 && invList.perCommand <= 1 && invList.wrong === 0;
    return [
      `inventory ${PRODUCTS} products at ${LATENCY_MS} ms a Service Catalog call | list from the inventory: ${stats(listMs)}, ${invList.perCommand.toFixed(2)} calls/command${wrong(invList.wrong)} | target p95 < 300 ms and ≤ 1 call/command: ${ok ? 'OK' : 'MISSED'}`,
      `inventory status from the inventory: ${stats(invStatus.results.map((r) => r.ms))}, ${invStatus.perCommand.toFixed(2)} calls/command${wrong(invStatus.wrong)}`,
      `inventory reading the whole account each time (as before): list ${stats(scanMs.slice(0, SCAN_COMMANDS))}, status ${stats(scanMs.slice(SCAN_COMMANDS))}, ${scanned.perCommand.toFixed(2)} calls/command${wrong(scanned.wrong)}`,
      `inventory first snapshot (a cold start) at 5 pages/s: ${(inventory.first.warmMs / 1000).toFixed(1)} s, ${inventory.first.warmCalls} calls`,
    ];
  } finally {
    await stopServer(scan.child);
    await stopServer(inventory.child);
    await slack.close();
  }
}

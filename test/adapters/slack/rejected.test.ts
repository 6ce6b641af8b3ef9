// A flood of forged Slack requests is audited without flooding the (length-capped) audit trail.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RejectedRequestAudit } from '../../../src/adapters/slack/app.js';
import type { AuditEntry, AuditLog } from '../../../src/core/context.js';

function recorder() {
  const entries: AuditEntry[] = [];
  const audit: AuditLog = { append: async (e) => void entries.push(e), recent: async () => [] };
  return { entries, audit };
}

describe('RejectedRequestAudit', () => {
  it('audits the first rejections of a window one by one, then one summary that counts the rest', async () => {
    let now = 1_000_000;
    const { entries, audit } = recorder();
    const r = new RejectedRequestAudit(audit, pino({ level: 'silent' }), { limit: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i++) r.record({ ip: '203.0.113.9' });
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.action === 'slack.signature-rejected' && e.outcome === 'rejected: 401')).toBe(true);
    // The next window opens with the summary of the last one.
    now += 60_000;
    r.record({ ip: '203.0.113.9' });
    expect(entries).toHaveLength(5);
    expect(entries[3]).toMatchObject({ parameters: { more: 7 }, outcome: 'rejected: 401 (7 more, audited together)' });
    expect(entries[4]!.outcome).toBe('rejected: 401');
  });

  it('writes the summary when the window ends even if no further request comes', async () => {
    const { entries, audit } = recorder();
    // A fixed clock: the three records fall in one window however slow the machine is; the flush timer is real.
    const r = new RejectedRequestAudit(audit, pino({ level: 'silent' }), { limit: 1, windowMs: 50, now: () => 0 });
    r.record({});
    r.record({});
    r.record({});
    expect(entries).toHaveLength(1);
    const deadline = Date.now() + 2000;
    while (entries.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(entries[1]).toMatchObject({ parameters: { more: 2 } });
  });
});

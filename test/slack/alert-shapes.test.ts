// The shapes of AWS notifications beyond one metric crossing a threshold, through signed SNS POSTs into DMs on real
// Redis: no-data states, metric-math, anomaly and composite alarms, budgets of every period, and messages nobody expected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../jobs/queues.js';
import { SandboxAlarms, SandboxBudgets, SandboxTopics } from '../../src/sandbox/alerts.js';
import { SandboxCatalog } from '../../src/sandbox/catalog.js';
import { dropPrefix, eventually, Harness } from '../support/harness.js';
import { alarmFixture, alarmMessage, budgetMessage, notification, sign, verifierForTests } from '../support/sns.js';

const ALICE = 'UALICE';
const BOB = 'UBOB';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ualice-synapse-org';
/** Bob's topic is known and owned, without a launch of his own. */
const BOB_TOPIC = 'arn:aws:sns:us-east-1:111122223333:scicomp-user-ubob-synapse-org';

let h: Harness;
const sandbox = new SandboxCatalog({ provisionMs: 100 });
const alarms = new SandboxAlarms();
let ppId = '';
let instanceId = '';

beforeAll(async () => {
  h = await Harness.start({
    catalog: sandbox,
    env: { SCICOMP_PUBLIC_URL: 'https://scicomp.example.org' },
    extra: { topics: new SandboxTopics(), alarms, budgets: new SandboxBudgets(), snsVerifier: verifierForTests() },
  });
  const { responseId } = await h.command(ALICE, 'launch "EC2 Linux" box');
  await eventually(() => h.replies(responseId).length > 0, 'launch reply');
  await eventually(() => h.dms(ALICE).some((m) => m.includes('ualice-box is ready')), 'box ready');
  ppId = (await sandbox.searchProvisioned()).find((p) => p.name === 'ualice-box')!.id;
  const cpu = await eventually(() => alarms.alarms.get(`scicomp-${ppId}-cpu-high`), 'alarms created');
  instanceId = cpu.Dimensions![0]!.Value!;
  await h.app.deps.alertState.recordTopic(BOB_TOPIC, { platform: 'slack', userId: BOB, email: 'ubob@synapse.org' });
});

afterAll(async () => {
  await dropPrefix(h.app);
  await h.close();
});

/** Posts a signed message and waits until its job has run. */
async function postSettled(m: { MessageId: string }): Promise<void> {
  const res = await fetch(`${h.url}/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body: JSON.stringify(m) });
  expect(res.status, await res.clone().text()).toBe(200);
  await eventually(async () => (await h.app.queues.sns.getJob(jobIdFor('sns', m.MessageId)))?.isCompleted(), `job of ${m.MessageId} done`);
}

const posts = (user: string, text: string) => h.slack.of('chat.postMessage').filter((c) => c.body.channel === `D${user}` && JSON.stringify(c.body).includes(text));
const updatesOf = (ts: unknown) => h.slack.of('chat.update').filter((c) => c.body.ts === ts);
/** The newest update of one message whose body includes the text. */
const editedTo = (ts: unknown, text: string) => eventually(() => updatesOf(ts).filter((u) => JSON.stringify(u.body).includes(text)).at(-1), `message ${String(ts)} edited to "${text}"`, 15_000);

/** A fixture about Alice's box: its alarm names and InstanceId dimensions point at her product and instance. */
function aboutBox(file: string, edit: (a: Record<string, unknown>) => void = () => {}): string {
  const a = alarmFixture(file);
  edit(a);
  return JSON.stringify(a).replaceAll('scicomp-pp-example', `scicomp-${ppId}`).replaceAll('i-0123456789abcdef0', instanceId);
}

describe('alarm states', () => {
  it('INSUFFICIENT_DATA after an alarm edits its message to say no data and why; OK then edits it to recovered', async () => {
    const earlier = posts(ALICE, 'memory').length;
    await postSettled(sign(notification(TOPIC, alarmMessage({ alarmName: `scicomp-${ppId}-memory-high`, state: 'ALARM', metric: 'mem_used_percent', namespace: 'CWAgent', threshold: 85, value: 91 }))));
    const first = await eventually(() => posts(ALICE, 'ualice-box: memory is nearly full')[0], 'memory alarm DM');
    await postSettled(sign(notification(TOPIC, aboutBox('cloudwatch-alarm-insufficient-data.json'), `INSUFFICIENT_DATA: "scicomp-${ppId}-memory-high" in US East (N. Virginia)`)));
    const noData = JSON.stringify((await editedTo(first.response?.ts, 'no memory data from CloudWatch')).body);
    expect(noData).toContain('the CloudWatch agent may have stopped');
    expect(noData).toContain('Insufficient Data: 3 datapoints were unknown.');
    expect(noData).toContain('it fired 1 time since');
    await postSettled(sign(notification(TOPIC, alarmMessage({ alarmName: `scicomp-${ppId}-memory-high`, state: 'OK', metric: 'mem_used_percent', namespace: 'CWAgent', threshold: 85 }))));
    expect(JSON.stringify((await editedTo(first.response?.ts, 'ualice-box recovered')).body)).toContain('memory use is back to normal');
    expect(posts(ALICE, 'memory')).toHaveLength(earlier + 1);
  });

  it('INSUFFICIENT_DATA with no alert open posts one message, once for a redelivery; data back edits it', async () => {
    const noData = sign(notification(TOPIC, aboutBox('cloudwatch-alarm-insufficient-data.json', (a) => (a.AlarmName = `scicomp-${ppId}-disk-high`))));
    await postSettled(noData);
    const posted = await eventually(() => posts(ALICE, 'ualice-box: no disk data from CloudWatch')[0], 'no-data DM');
    expect(JSON.stringify(posted.body)).toContain('CloudWatch agent may have stopped');
    await postSettled(noData);
    await postSettled(sign(notification(TOPIC, alarmMessage({ alarmName: `scicomp-${ppId}-disk-high`, state: 'OK', metric: 'disk_used_percent', namespace: 'CWAgent', threshold: 80 }))));
    await editedTo(posted.response?.ts, 'ualice-box is reporting again');
    expect(posts(ALICE, 'no disk data')).toHaveLength(1);
  });
});

describe('alarms scicomp did not create', () => {
  it('a metric-math alarm names its expression and inputs, and finds the product by the InstanceId inside Trigger.Metrics', async () => {
    await postSettled(sign(notification(TOPIC, aboutBox('cloudwatch-alarm-metric-math.json'), 'ALARM: "network-out-mib" in US East (N. Virginia)')));
    const dm = JSON.stringify((await eventually(() => posts(ALICE, 'ualice-box: alarm network-out-mib')[0], 'metric-math DM')).body);
    expect(dm).toContain('m1/1048576 where m1 = AWS/EC2 NetworkOut (Sum)');
    expect(dm).toContain('812.4 against a threshold of 500');
    expect(dm).toContain(`alarm network-out-mib on ${instanceId}`);
  });

  it('an anomaly-detection alarm names its metric and band, and the band the value left', async () => {
    await postSettled(sign(notification(TOPIC, aboutBox('cloudwatch-alarm-anomaly.json'))));
    const dm = JSON.stringify((await eventually(() => posts(ALICE, 'ualice-box: alarm cpu-unusual')[0], 'anomaly DM')).body);
    expect(dm).toContain('AWS/EC2 CPUUtilization (Average) against its anomaly band ANOMALY_DETECTION_BAND(m1, 2)');
    expect(dm).toContain('88.2 outside the expected band 2.1 to 41.7');
  });

  it('a composite alarm says so, with its rule, and finds the product its child alarms watch', async () => {
    await postSettled(sign(notification(TOPIC, aboutBox('cloudwatch-alarm-composite.json'))));
    const dm = JSON.stringify((await eventually(() => posts(ALICE, 'ualice-box: composite alarm box-cpu-and-memory')[0], 'composite DM')).body);
    expect(dm).toContain(`composite alarm: ALARM(\\"scicomp-${ppId}-cpu-high\\") AND ALARM(\\"scicomp-${ppId}-memory-high\\")`);
  });

  it('an alarm on another owner’s topic that watches Alice’s instance reaches that topic’s owner without naming her product', async () => {
    await postSettled(sign(notification(BOB_TOPIC, aboutBox('cloudwatch-alarm-metric-math.json', (a) => (a.AlarmName = 'bob-watches-network')))));
    const dm = JSON.stringify((await eventually(() => posts(BOB, 'bob-watches-network: alarm bob-watches-network')[0], 'Bob’s DM')).body);
    expect(dm).not.toContain('ualice-box');
    expect(h.dms(ALICE).some((d) => d.includes('bob-watches-network'))).toBe(false);
  });
});

describe('budgets of every period', () => {
  it.each([
    ['a daily', 'daily', '$20.00 a day', 'exceeded today', '$17.35'],
    ['a quarterly', 'quarterly', '$900.00 a quarter', 'exceeded this quarter', '$745.10'],
    ['an annual', 'annually', '$960.00 a year', 'exceeded this year', '$790.42'],
  ] as const)('%s budget is called what it is', async (_what, period, budgeted, when, amount) => {
    const budget = `ualice-${period}`;
    await postSettled(sign(notification(TOPIC, budgetMessage(budget, 'ACTUAL', period), `AWS Budgets: ${budget} has exceeded your alert threshold`)));
    const dm = JSON.stringify((await eventually(() => posts(ALICE, `${budget} (`)[0], `${period} budget DM`)).body);
    expect(dm).toContain(`${budget} (${budgeted})`);
    expect(dm).toContain(`Budget ${when}: ${amount}`);
    expect(dm).not.toContain('a month');
    // Not scicomp's own budget: /scicomp budget would show another one.
    expect(dm).toContain(`${budget} is not the budget /scicomp budget shows`);
  });
});

describe('notifications nobody expected', () => {
  const UNRECOGNISED = 'Unrecognised AWS notification on your topic';

  it('an alarm in a state CloudWatch does not have reaches the owner as an unrecognised notification, not silence', async () => {
    const odd = JSON.stringify({ ...alarmFixture('cloudwatch-alarm.json'), AlarmName: `scicomp-${ppId}-cpu-high`, NewStateValue: 'PENDING' });
    await postSettled(sign(notification(TOPIC, odd, 'Odd alarm state')));
    const dm = JSON.stringify((await eventually(() => posts(ALICE, `${UNRECOGNISED}: Odd alarm state`)[0], 'unrecognised DM')).body);
    expect(dm).toContain('PENDING');
  });

  it('a CloudWatch event from EventBridge is shown as it came, bounded and escaped, once for a redelivery', async () => {
    const event = {
      version: '0',
      id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '111122223333',
      detail: { alarmName: 'box <!channel> `code` *bold*', state: { value: 'ALARM', reason: 'x'.repeat(3000) } },
    };
    const m = sign(notification(TOPIC, JSON.stringify(event), 'Event <!here> from EventBridge'));
    await postSettled(m);
    const post = await eventually(() => posts(ALICE, UNRECOGNISED).find((p) => JSON.stringify(p.body).includes('EventBridge')), 'EventBridge DM');
    const body = JSON.stringify(post.body);
    expect(post.body.text).toBe(`${UNRECOGNISED}: Event &lt;!here&gt; from EventBridge`);
    expect(body).toContain('&lt;!channel&gt;');
    expect(body).not.toContain('<!channel>');
    expect(body).not.toContain('<!here>');
    expect(body).not.toContain('`code`');
    expect(body).not.toContain('x'.repeat(700));
    expect(body).toContain('Message (the start of it):');
    await postSettled(m);
    expect(posts(ALICE, 'Event &lt;!here&gt; from EventBridge')).toHaveLength(1);
  });
});

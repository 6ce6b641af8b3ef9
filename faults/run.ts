// `npm run faults`: real scicomp processes (src/main.ts, sandbox mode) on a Redis of their own that the suite starts,
// kills and restarts, with a recording Slack; each scenario counts what was sent, acknowledged, delivered, duplicated,
// lost and out of order, and the run ends with `faults: N passed, M failed` (exit code 1 on any failure).
//   npm run faults                 every scenario
//   npm run faults -- --fast       the fast ones (CI)
//   npm run faults -- <words>      the scenarios whose name contains <words>
//   FAULTS_LOGS=<dir>              keeps each process's output there
import { SlackApi } from '../test/support/slack-api.js';
import { alertScenarios } from './scenarios/alerts.js';
import { commandScenarios } from './scenarios/commands.js';
import { httpScenarios } from './scenarios/http.js';
import { mutationScenarios } from './scenarios/mutations.js';
import { replicaScenarios } from './scenarios/replicas.js';
import { freePort, OwnRedis, stopAll, type Figures, type Scenario } from './support.js';

const SCENARIOS: Scenario[] = [...commandScenarios, ...mutationScenarios, ...alertScenarios, ...httpScenarios, ...replicaScenarios];

const args = process.argv.slice(2);
const fast = args.includes('--fast');
const words = args.filter((a) => !a.startsWith('--')).join(' ').toLowerCase();
const chosen = SCENARIOS.filter((s) => (!fast || s.fast) && (!words || s.name.toLowerCase().includes(words)));
if (chosen.length === 0) {
  process.stdout.write(`no scenario matches "${args.join(' ')}"; the scenarios:\n${SCENARIOS.map((s) => `  ${s.name}\n`).join('')}`);
  process.exit(2);
}

function line(f: Figures): string {
  const common = `sent ${f.sent} / acknowledged ${f.acknowledged} / delivered ${f.delivered} / duplicated ${f.duplicated} / lost ${f.lost} / out of order ${f.outOfOrder}`;
  return [common, ...Object.entries(f.more ?? {}).map(([k, v]) => `${k} ${v}`)].join(' / ');
}

let passed = 0;
let failed = 0;
for (const scenario of chosen) {
  const redis = new OwnRedis(await freePort());
  const slack = await new SlackApi().start();
  const started = Date.now();
  try {
    await redis.start();
    const { figures, passed: ok } = await scenario.run(redis, slack);
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${scenario.name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${line(figures)}\n`);
    if (ok) passed++;
    else failed++;
  } catch (err) {
    process.stdout.write(`FAIL ${scenario.name}: ${(err as Error).message}\n`);
    failed++;
  } finally {
    await stopAll(scenario.name);
    await redis.kill();
    await slack.close();
  }
}
process.stdout.write(`faults: ${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);

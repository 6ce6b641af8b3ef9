// Alert state in Redis: each resource's alert, applied notifications by MessageId, watched products and their instances,
// and the topics scicomp owns. One Lua step applies a notification, so replicas and retries agree on every alert.
import type { AlarmStateChange, AlertStateRepository, AppliedAlarm, AlertState, AlertStep, Owner, WatchedProduct } from '../../core/repositories/alert-state.js';
import { announcedKey } from './outbox-marks.js';
import { snoozeKey } from './snoozes.js';
import type { Store } from './store.js';

export const topicOwnerKey = (store: Pick<Store, 'key'>, arn: string) => store.key('topic-owner', arn);
export const knownTopicsKey = (store: Pick<Store, 'key'>) => store.key('topics');
export const watchedKey = (store: Pick<Store, 'key'>, ppId: string) => store.key('watched', ppId);
export const instanceKey = (store: Pick<Store, 'key'>, instanceId: string) => store.key('instance', instanceId);
export const alertKey = (store: Pick<Store, 'key'>, resource: string) => store.key('alert', resource);
export const appliedKey = (store: Pick<Store, 'key'>, messageId: string) => store.key('alert-applied', messageId);

/**
 * One notification applied to its resource's alert state, atomically, in one round trip that also reads what routing
 * needs. A replayed MessageId returns the outcome stored the first time. A resource has one message while its alarm is
 * open, shows no data, or within the coalescing window of its first: ALARM, INSUFFICIENT_DATA and OK edit it.
 * KEYS: topic owner, watched, snooze, alert state, applied marker, the new message's outbox announcement. ARGV: state,
 * message key, now, state change time, coalescing window, open TTL, applied TTL, whether snooze applies, announcement TTL.
 */
const ALERT_STEP = `
local owner = redis.call('GET', KEYS[1])
local watched = redis.call('GET', KEYS[2])
local applied = redis.call('GET', KEYS[5])
if applied then return {owner, watched, applied} end
local step, st
local raw = redis.call('GET', KEYS[4])
if raw then st = cjson.decode(raw) end
local now = tonumber(ARGV[3])
local event = ARGV[1]
local snoozed = ARGV[8] == '1' and redis.call('EXISTS', KEYS[3]) == 1
local current = st and (st.open or st.nodata or now < st.firstAtMs + tonumber(ARGV[5]))
local function fresh(count, open, nodata)
  st = {key = ARGV[2], count = count, firstAt = ARGV[4], firstAtMs = now, open = open, nodata = nodata, seq = 1}
  -- Announced before any repeat can see it: a repeat's edit waits for this message instead of posting anew.
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[9])
end
if not owner and not watched then
  step = 'ignored'
elseif event == 'ALARM' then
  if snoozed then
    step = 'snoozed'
  elseif current then
    st.count = st.count + 1
    st.open = true
    st.nodata = false
    st.seq = st.seq + 1
    step = 'coalesced'
  else
    fresh(1, true, false)
    step = 'posted'
  end
  if step ~= 'snoozed' then redis.call('SET', KEYS[4], cjson.encode(st), 'PX', ARGV[6]) end
elseif event == 'INSUFFICIENT_DATA' then
  if snoozed then
    step = 'snoozed'
  elseif st and st.nodata then
    step = 'ignored'
  else
    if current then
      st.nodata = true
      st.seq = st.seq + 1
    else
      fresh(0, false, true)
    end
    step = 'nodata'
    redis.call('SET', KEYS[4], cjson.encode(st), 'PX', ARGV[6])
  end
elseif event == 'OK' and st and (st.open or st.nodata) then
  st.open = false
  st.nodata = false
  st.seq = st.seq + 1
  step = 'recovered'
  local left = st.firstAtMs + tonumber(ARGV[5]) - now
  if left > 0 then redis.call('SET', KEYS[4], cjson.encode(st), 'PX', left) else redis.call('DEL', KEYS[4]) end
else
  step = 'ignored'
end
local out = cjson.encode({step = step, state = st})
redis.call('SET', KEYS[5], out, 'PX', ARGV[7])
return {owner, watched, out}
`;

const parse = <T>(raw: string | null): T | undefined => (raw === null ? undefined : (JSON.parse(raw) as T));

export class RedisAlertState implements AlertStateRepository {
  constructor(private readonly store: Store) {}

  async applyAlarm(c: AlarmStateChange): Promise<AppliedAlarm> {
    const s = this.store;
    const w = c.windows;
    const keys = [
      topicOwnerKey(s, c.topicArn),
      watchedKey(s, c.provisionedProductId ?? '-'),
      snoozeKey(s, c.provisionedProductId ?? '-'),
      alertKey(s, c.resource),
      appliedKey(s, c.messageId),
      announcedKey(s, c.messageKey),
    ];
    const args = [c.state, c.messageKey, c.now, c.changedAt, w.coalesceMs, w.openTtlMs, w.appliedTtlMs, c.snoozable ? '1' : '0', w.announceTtlMs];
    const [owner, watched, out] = await s.script<[string | null, string | null, string]>(ALERT_STEP, keys, args);
    const { step, state } = JSON.parse(out) as { step: AlertStep; state?: AlertState };
    return { step, state, owner: parse<Owner>(owner), watched: c.provisionedProductId ? parse<WatchedProduct>(watched) : undefined };
  }

  async recordTopic(topicArn: string, owner: Owner): Promise<void> {
    await this.store.redis.multi().set(topicOwnerKey(this.store, topicArn), JSON.stringify(owner)).sadd(knownTopicsKey(this.store), topicArn).exec();
  }

  async topicOwner(topicArn: string): Promise<Owner | undefined> {
    return this.store.getJson<Owner>(topicOwnerKey(this.store, topicArn));
  }

  async isKnownTopic(topicArn: string): Promise<boolean> {
    return (await this.store.redis.sismember(knownTopicsKey(this.store), topicArn)) === 1;
  }

  async watch(product: WatchedProduct): Promise<WatchedProduct | undefined> {
    const s = this.store;
    const before = await this.watched(product.provisionedProductId);
    const batch = s.redis.multi().set(watchedKey(s, product.provisionedProductId), JSON.stringify(product));
    if (product.instanceId) batch.set(instanceKey(s, product.instanceId), product.provisionedProductId);
    // An update that replaced the instance: its old id no longer leads here.
    if (before?.instanceId && before.instanceId !== product.instanceId) batch.del(instanceKey(s, before.instanceId));
    await batch.exec();
    return before;
  }

  async watched(ppId: string): Promise<WatchedProduct | undefined> {
    return this.store.getJson<WatchedProduct>(watchedKey(this.store, ppId));
  }

  async unwatch(ppId: string): Promise<WatchedProduct | undefined> {
    const before = await this.watched(ppId);
    await this.store.del(watchedKey(this.store, ppId), ...(before?.instanceId ? [instanceKey(this.store, before.instanceId)] : []));
    return before;
  }

  async productOfInstance(instanceId: string): Promise<string | undefined> {
    return (await this.store.redis.get(instanceKey(this.store, instanceId))) ?? undefined;
  }
}

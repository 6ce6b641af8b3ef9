// Send pacing in Redis: each key's booked sends in a sorted set (score = when), searched and booked in one Lua step.
import type { Clock } from '../../core/ports.js';
import type { PaceLimit, PacingRepository, SendSlot } from '../../core/repositories/pacing.js';
import type { Store } from './store.js';

export const paceSendsKey = (store: Pick<Store, 'key'>, key: string) => store.key('pace', 'sends', key);
const pauseKey = (store: Pick<Store, 'key'>, key: string) => store.key('pace', 'pause', key);

/** Both scripts' now, in ms: ARGV[2] when a clock is given, else Redis' own TIME (which every replica shares). */
const NOW = `
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/**
 * The same search as the memory twin's `earliestSlot`, over sorted sets. KEYS: per limit, its sends and its pause.
 * ARGV: member, now ('' for Redis' own clock, which every replica shares), the number of limits, then per limit its
 * number of windows and each window's limit and length. Returns the booked time and the wait, as strings.
 */
const BOOK = `
local function num(x) return string.format('%.0f', x) end
${NOW}local n = tonumber(ARGV[3])
local limits = {}
local pos = 4
for i = 1, n do
  local count = tonumber(ARGV[pos])
  pos = pos + 1
  local windows, longest = {}, 0
  for j = 1, count do
    windows[j] = { limit = tonumber(ARGV[pos]), ms = tonumber(ARGV[pos + 1]) }
    pos = pos + 2
    if windows[j].ms > longest then longest = windows[j].ms end
  end
  limits[i] = { sends = KEYS[2 * i - 1], pause = KEYS[2 * i], windows = windows, longest = longest }
  -- A send no window reaches back to any more is forgotten.
  redis.call('ZREMRANGEBYSCORE', limits[i].sends, '-inf', num(now - longest))
end

local mine = redis.call('ZSCORE', limits[1].sends, ARGV[1])
if mine then
  local at = tonumber(mine)
  return { num(at), num(math.max(0, at - now)) }
end

local t = now
for i = 1, n do
  local paused = tonumber(redis.call('GET', limits[i].pause))
  if paused and paused > t then t = paused end
end

-- The first time after t that one more send keeps window w of key, or nil when t does.
local function violation(key, w, t)
  local c = redis.call('ZCOUNT', key, '(' .. num(t - w.ms), num(t))
  if c >= w.limit then
    local s = redis.call('ZRANGEBYSCORE', key, '(' .. num(t - w.ms), num(t), 'WITHSCORES', 'LIMIT', c - w.limit, 1)
    return tonumber(s[2]) + w.ms
  end
  -- Fewer than limit sends within a window of t on either side: no window holding t can be full.
  if redis.call('ZCOUNT', key, '(' .. num(t - w.ms), '(' .. num(t + w.ms)) < w.limit then return nil end
  local later = redis.call('ZRANGEBYSCORE', key, '(' .. num(t), '(' .. num(t + w.ms), 'WITHSCORES')
  for k = 2, #later, 2 do
    local x = tonumber(later[k])
    if redis.call('ZCOUNT', key, '(' .. num(x - w.ms), num(x)) >= w.limit then return x + 1 end
  end
  return nil
end

local settled = false
while not settled do
  settled = true
  for i = 1, n do
    for j = 1, #limits[i].windows do
      local nextT = violation(limits[i].sends, limits[i].windows[j], t)
      if nextT then
        t = nextT
        settled = false
        break
      end
    end
    if not settled then break end
  end
end

for i = 1, n do
  redis.call('ZADD', limits[i].sends, num(t), ARGV[1])
  redis.call('PEXPIRE', limits[i].sends, num(t - now + limits[i].longest + 1000))
end
return { num(t), num(t - now) }
`;

/** A pause only ever grows. KEYS: pause. ARGV: ms, now ('' for Redis' clock). */
const PAUSE = `
${NOW}local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1])) or 0
if untilMs > current then redis.call('SET', KEYS[1], string.format('%.0f', untilMs), 'PX', ARGV[1]) end
return 0
`;

export class RedisPacing implements PacingRepository {
  /** Without a clock, Redis' own TIME is now: replicas whose clocks disagree still book on one timeline. */
  constructor(
    private readonly store: Store,
    private readonly clock?: Clock,
  ) {}

  private now(): string {
    return this.clock ? String(this.clock.now()) : '';
  }

  async book(limits: PaceLimit[], member: string): Promise<SendSlot> {
    if (limits.length === 0) {
      const now = this.clock?.now() ?? Date.now();
      return { atMs: now, waitMs: 0 };
    }
    const keys = limits.flatMap((l) => [paceSendsKey(this.store, l.key), pauseKey(this.store, l.key)]);
    const args = [member, this.now(), limits.length, ...limits.flatMap((l) => [l.windows.length, ...l.windows.flatMap((w) => [w.limit, w.windowMs])])];
    const [at, wait] = await this.store.script<[string, string]>(BOOK, keys, args);
    return { atMs: Number(at), waitMs: Number(wait) };
  }

  async pause(key: string, ms: number): Promise<void> {
    await this.store.script(PAUSE, [pauseKey(this.store, key)], [Math.max(1, Math.ceil(ms)), this.now()]);
  }
}

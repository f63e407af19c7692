import { redisScript } from '../../common/index.js';

/**
 * The whole decision for one request, atomic in Redis. Each KEYS[i] is a list of admission
 * times (ms, ascending) for one tier; ARGV holds limit and window (ms) per tier, then `1` to
 * count an admitted request or `0` to only look (`RateLimitStore.peek`), then, optionally, a
 * lease (quota-lease.ts): how many slots the caller would like, how long it may spend them (ms),
 * and slots of an ended lease to hand back with the time they were recorded at. The clock is
 * Redis' own (TIME), so instances with skewed clocks still share one timeline.
 *
 * 1. hand back the unused slots of an ended lease (LREM of their recorded time, from the tail);
 * 2. drop the admissions that left each window (amortised O(1): each is popped once);
 * 3. if any tier is full, refuse, counting nothing, and say how long until every full tier has room;
 * 4. else (when counting) grant min(wanted, room ÷ 8) slots, at least 1, and append them to every
 *    tier. One slot is today's admission, recorded at `now`; a lease of more is recorded at the end
 *    of its validity (`now + leaseMs`), so each slot leaves the window no earlier than the request
 *    it will admit. A time is never recorded below a list's tail, which keeps the lists sorted (a
 *    later time only makes a slot leave later). Each key expires when its last entry leaves.
 *
 * Returns { allowed (0|1), retryAfterMs, then per tier: count, resetMs, then granted slots and
 * the time they were recorded at }.
 */
export const SLIDING_WINDOW_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local n = #KEYS
local record = ARGV[2 * n + 1] == '1'
local wanted = tonumber(ARGV[2 * n + 2] or '1')
local leaseMs = tonumber(ARGV[2 * n + 3] or '0')
local handBack = tonumber(ARGV[2 * n + 4] or '0')
if handBack > 0 then
  for i = 1, n do redis.call('LREM', KEYS[i], -handBack, ARGV[2 * n + 5]) end
end
local counts = {}
local oldest = {}
local retry = 0
local room = nil
local stamp = now
for i = 1, n do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local cutoff = now - window
  local head = redis.call('LINDEX', key, 0)
  while head and tonumber(head) <= cutoff do
    redis.call('LPOP', key)
    head = redis.call('LINDEX', key, 0)
  end
  oldest[i] = head and tonumber(head) or now
  local count = redis.call('LLEN', key)
  counts[i] = count
  if count >= limit then
    local wait = tonumber(redis.call('LINDEX', key, count - limit)) + window - now
    if wait > retry then retry = wait end
  end
  if room == nil or limit - count < room then room = limit - count end
  if count > 0 then
    local tail = tonumber(redis.call('LINDEX', key, -1))
    if tail > stamp then stamp = tail end
  end
end
local allowed = 1
if retry > 0 then allowed = 0 end
local granted = 0
if allowed == 1 and record then
  granted = math.max(1, math.min(wanted, math.floor(room / 8)))
  if granted > 1 and now + leaseMs > stamp then stamp = now + leaseMs end
end
local slots = {}
for s = 1, granted do slots[s] = stamp end
local reply = { allowed, retry }
for i = 1, n do
  local key = KEYS[i]
  local window = tonumber(ARGV[2 * i])
  if granted > 0 then
    redis.call('RPUSH', key, unpack(slots))
    redis.call('PEXPIRE', key, stamp - now + window)
    if counts[i] == 0 then oldest[i] = stamp end
    counts[i] = counts[i] + granted
  end
  local reset = 0
  if counts[i] > 0 then reset = oldest[i] + window - now end
  reply[#reply + 1] = counts[i]
  reply[#reply + 1] = reset
end
reply[#reply + 1] = granted
reply[#reply + 1] = stamp
return reply
`;

export const SLIDING_WINDOW = redisScript(SLIDING_WINDOW_SCRIPT);

import { redisScript } from '../../common/index.js';

/**
 * The whole decision for one request, atomic in Redis. Each KEYS[i] is a list of admission
 * times (ms, oldest first) for one tier; ARGV holds limit and window (ms) per tier, then `1` to
 * count an admitted request or `0` to only look (`RateLimitStore.peek`). The clock is
 * Redis' own (TIME), so instances with skewed clocks still share one timeline.
 *
 * 1. drop the admissions that left each window (amortised O(1): each is popped once);
 * 2. if any tier is full, refuse, counting nothing, and say how long until every full tier has room;
 * 3. else (when counting) append `now` to every tier and set each key to expire with its window.
 *
 * Returns { allowed (0|1), retryAfterMs, then per tier: count, resetMs }.
 */
export const SLIDING_WINDOW_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local n = #KEYS
local record = ARGV[2 * n + 1] == '1'
local counts = {}
local oldest = {}
local retry = 0
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
end
local allowed = 1
if retry > 0 then allowed = 0 end
local reply = { allowed, retry }
for i = 1, n do
  local key = KEYS[i]
  local window = tonumber(ARGV[2 * i])
  if allowed == 1 and record then
    redis.call('RPUSH', key, now)
    redis.call('PEXPIRE', key, window)
    counts[i] = counts[i] + 1
  end
  local reset = 0
  if counts[i] > 0 then reset = oldest[i] + window - now end
  reply[#reply + 1] = counts[i]
  reply[#reply + 1] = reset
end
return reply
`;

export const SLIDING_WINDOW = redisScript(SLIDING_WINDOW_SCRIPT);

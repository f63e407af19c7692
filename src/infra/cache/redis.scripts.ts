import { redisScript } from '../../common/index.js';

// The cache's Lua scripts: each runs atomically in Redis, which is what makes the version guard
// and the lease rules hold across instances. Entries are `version|status|expiresAt|computeMs\nbody`
// (see cache-record.ts): a script reads the version with one pattern match.

// Stores only if nothing newer is there. A fill (lease token given) stores only while it still
// holds the lease it loaded under, and releases it; a write-through (commit) takes the lease from
// any reader loading now, whose value may predate the commit.
// KEYS: entry, lease. ARGV: version, value, ttl ms, lease token ('' for none), '1' for a commit write.
export const WRITE_IF_NEWER = redisScript(`
if ARGV[4] ~= '' then
  if redis.call('GET', KEYS[2]) ~= ARGV[4] then return 0 end
  redis.call('DEL', KEYS[2])
elseif ARGV[5] == '1' then
  redis.call('DEL', KEYS[2])
end
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

// The repair of a write-through that could not be confirmed: takes the lease away and leaves a
// fence (a valueless entry of that version) unless that version or a newer one is there.
// KEYS: entry, lease. ARGV: version, fence, ttl ms.
export const FENCE = redisScript(`
redis.call('DEL', KEYS[2])
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`);

// KEYS: lease. ARGV: token.
export const RELEASE_IF_OWNER = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

// KEYS: lease. ARGV: token, ttl ms.
export const RENEW_IF_OWNER = redisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`);

// Generations start at the clock (ms) so one lost with its key can never return to an old value.
// KEYS: generation keys. ARGV: now.
export const GENERATIONS = redisScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if not value then value = ARGV[1]; redis.call('SET', key, value) end
  out[i] = value
end
return out`);

// Moves each tag past its generation and never behind the clock (ms), for the same reason.
// KEYS: generation keys. ARGV: now.
export const BUMP = redisScript(`
local now = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local next = tonumber(redis.call('GET', key) or '0') + 1
  if next < now then next = now end
  redis.call('SET', key, string.format('%.0f', next))
end
return 1`);

/// The Lua scripts of the stream journal. Each runs atomically in Redis, so what several
/// listener instances do to one stream (assign seqs, check keys, decide a held part's fate)
/// is decided in one place. Numbers are formatted with `%.0f`: Lua 5.1 would print a large
/// double as `1e+15`. Record sizes count as `JournalRecord.encodedSize` does (26 + key + envelope).
enum RedisStreamScripts {
    /// KEYS: stream, seq, keys, holds, bytes, probe, at. ARGV: held ("1"/"0"), accept time (ms),
    /// probe ("1": write even when nothing is fresh, so a WAIT after it covers the records whose
    /// keys made this call a duplicate), room (bytes the fresh records may take, "" for no
    /// limit), then key, envelope per entry.
    /// Returns {first seq, appended, duplicates, accept time used, then the 0-based index of each
    /// appended entry}, or {-1, bytes needed} when the fresh records do not fit `room` (nothing
    /// written).
    static let append = RedisScript(
        """
        local function num(n) return string.format('%.0f', n) end
        local last = tonumber(redis.call('GET', KEYS[2]) or '0')
        if not last then return redis.error_reply('ERR ' .. KEYS[2] .. ' is not a number') end
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
        if newest then
          local top = tonumber(string.match(newest[1], '^(%d+)-'))
          if top and top > last then
            return redis.error_reply('ERR ' .. KEYS[1] .. ' holds seq ' .. num(top) .. ' past ' .. KEYS[2] .. ' ' .. num(last))
          end
        end
        local fresh, seen, duplicates, size = {}, {}, 0, 0
        for i = 5, #ARGV, 2 do
          local key = ARGV[i]
          if seen[key] or redis.call('ZSCORE', KEYS[3], key) then
            duplicates = duplicates + 1
          else
            seen[key] = true
            fresh[#fresh + 1] = i
            size = size + 26 + #key + #ARGV[i + 1]
          end
        end
        local at = tonumber(ARGV[2])
        local previous = tonumber(redis.call('GET', KEYS[7]) or '0') or 0
        if previous > at then at = previous end
        if #fresh == 0 then
          if ARGV[3] == '1' then redis.call('SET', KEYS[6], num(last)) end
          return {last + 1, 0, duplicates, num(at)}
        end
        if ARGV[4] ~= '' and size > tonumber(ARGV[4]) then return {-1, size} end
        local first, final = last + 1, last + #fresh
        local hold = nil
        if ARGV[1] == '1' then
          hold = num(first) .. '-' .. num(final)
          redis.call('HSET', KEYS[4], num(first), num(final))
        end
        for j, i in ipairs(fresh) do
          local seq = num(last + j)
          if hold then
            redis.call('XADD', KEYS[1], seq .. '-0', 'key', ARGV[i], 'at', num(at), 'env', ARGV[i + 1], 'hold', hold)
          else
            redis.call('XADD', KEYS[1], seq .. '-0', 'key', ARGV[i], 'at', num(at), 'env', ARGV[i + 1])
          end
          redis.call('ZADD', KEYS[3], seq, ARGV[i])
        end
        redis.call('SET', KEYS[2], num(final))
        redis.call('SET', KEYS[7], num(at))
        redis.call('INCRBY', KEYS[5], size)
        local reply = {first, #fresh, duplicates, num(at)}
        for _, i in ipairs(fresh) do reply[#reply + 1] = (i - 5) / 2 end
        return reply
        """)

    /// KEYS: stream, holds, seq. ARGV: first, last. Releases the held part if nobody decided its
    /// fate yet (1), else 0; the marker tells every instance's reader.
    static let release = RedisScript(
        """
        if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
        local top = redis.call('GET', KEYS[3]) or '0'
        redis.call('XADD', KEYS[1], top .. '-*', 'release', ARGV[1] .. '-' .. ARGV[2])
        return 1
        """)

    /// KEYS: stream, holds, seq, keys, voids. ARGV: first, last. Voids the held part if nobody
    /// decided its fate yet (1), else 0: the void range is recorded (a rewind reads it), the
    /// part's keys are given back so the sender's retry is appended anew, and the marker tells
    /// every instance's reader.
    static let void = RedisScript(
        """
        if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
        local entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', ARGV[2] .. '-0')
        for _, entry in ipairs(entries) do
          local seq = string.match(entry[1], '^(%d+)-0$')
          local fields = entry[2]
          for i = 1, #fields, 2 do
            if seq and fields[i] == 'key' and tonumber(redis.call('ZSCORE', KEYS[4], fields[i + 1])) == tonumber(seq) then
              redis.call('ZREM', KEYS[4], fields[i + 1])
            end
          end
        end
        redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
        local top = redis.call('GET', KEYS[3]) or '0'
        redis.call('XADD', KEYS[1], top .. '-*', 'void', ARGV[1] .. '-' .. ARGV[2])
        return 1
        """)

    /// KEYS: seq. ARGV: floor. Raises the seq counter to `floor` if it is below (1), else 0.
    static let raiseSeq = RedisScript(
        """
        local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        if stored < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
        return 0
        """)

    /// KEYS: acked. ARGV: seq. The acknowledged seq only grows (several instances may write it).
    static let acknowledge = RedisScript(
        """
        local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
        local seq = tonumber(ARGV[1])
        if seq > stored then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
        return 0
        """)

    /// KEYS: stream, keys, bytes, voids, seq. ARGV: acked, cutoff (accept times at or below it
    /// have expired; "" for none), max bytes of acknowledged records kept, bytes of
    /// unacknowledged records, most entries to look at, recent keys kept. Trims the oldest
    /// acknowledged records while they are expired or the acknowledged ones take more than the
    /// cap, and the void ranges wholly before what is kept. A key is forgotten once its record is
    /// gone and it is not among the newest `recent` seqs: the file journal's guarantee (its
    /// recent-ID index while running, its retained segments after a restart), both at once.
    /// Returns {records trimmed, first seq kept (0: nothing trimmed), 1 if there may be more}.
    static let trim = RedisScript(
        """
        local function num(n) return string.format('%.0f', n) end
        local cutoff = tonumber(ARGV[2])
        local maxBytes, unacked = tonumber(ARGV[3]), tonumber(ARGV[4])
        local total = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
        local entries = redis.call('XRANGE', KEYS[1], '-', ARGV[1] .. '-0', 'COUNT', ARGV[5])
        local trimmed, minid, stopped = 0, nil, false
        for _, entry in ipairs(entries) do
          local seq = string.match(entry[1], '^(%d+)-')
          local fields = entry[2]
          local key, at, env = nil, nil, nil
          for i = 1, #fields, 2 do
            if fields[i] == 'key' then key = fields[i + 1]
            elseif fields[i] == 'at' then at = tonumber(fields[i + 1])
            elseif fields[i] == 'env' then env = fields[i + 1] end
          end
          if string.match(entry[1], '^%d+-0$') then
            local expired = cutoff ~= nil and (at == nil or at <= cutoff)
            if not expired and total - unacked <= maxBytes then stopped = true break end
            if key and env then total = total - 26 - #key - #env end
            trimmed = trimmed + 1
            minid = tonumber(seq) + 1
          end
        end
        if minid ~= nil then
          redis.call('XTRIM', KEYS[1], 'MINID', num(minid) .. '-0')
          if total < 0 then total = 0 end
          redis.call('SET', KEYS[3], num(total))
          local voids = redis.call('HGETALL', KEYS[4])
          for i = 1, #voids, 2 do
            if (tonumber(voids[i + 1]) or 0) < minid then redis.call('HDEL', KEYS[4], voids[i]) end
          end
        end
        local last = tonumber(redis.call('GET', KEYS[5]) or '0') or 0
        local floor = last + 1
        local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
        if oldest then floor = tonumber(string.match(oldest[1], '^(%d+)-')) or floor end
        local recent = last + 1 - tonumber(ARGV[6])
        if recent < floor then floor = recent end
        if floor > 1 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. num(floor)) end
        local more = 0
        if minid ~= nil and not stopped and #entries == tonumber(ARGV[5]) then more = 1 end
        return {trimmed, minid or 0, more}
        """)
}

/// The cluster's read-modify-write steps, each one Lua script so that Redis runs it atomically
/// (keys in `ClusterKeys`). A lease value parses as `LeaseHolder(value:)` does: the digits before
/// the first space are the token, the rest is the instance; a value that does not parse belongs to
/// no one.
enum ClusterScripts {
    /// KEYS[1] = the lease, KEYS[2] = the fence counter; ARGV[1] = the instance, ARGV[2] = the lease
    /// in ms. Ours already: extended, same token. Someone else's: `{0, token, instance}`, nothing
    /// written. Free: the fence counter goes up by one and its new value is our token. Answers
    /// `{1, token}` when the lease is ours.
    static let acquire = RedisScript(
        """
        local current = redis.call('GET', KEYS[1])
        if current then
          local space = string.find(current, ' ', 1, true)
          if space and space > 1 then
            local token, holder = string.sub(current, 1, space - 1), string.sub(current, space + 1)
            if string.match(token, '^%d+$') then
              if holder == ARGV[1] then
                redis.call('PEXPIRE', KEYS[1], ARGV[2])
                return {1, token}
              end
              return {0, token, holder}
            end
          end
        end
        redis.call('INCR', KEYS[2])
        local token = redis.call('GET', KEYS[2])
        redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
        return {1, token}
        """)

    /// KEYS[1] = the lease; ARGV[1] = the value it must hold (`<token> <instance>`), ARGV[2] = the
    /// lease in ms. 1 and extended when it holds exactly that, else 0 and nothing written.
    static let renew = RedisScript(
        """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """)

    /// KEYS[1] = the lease; ARGV[1] = the value it must hold. Deleted (1) when it holds exactly
    /// that, else 0 and nothing written.
    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """)

    /// KEYS[1] = the live set; ARGV[1] = the instance, ARGV[2] = how long it stays alive, in ms.
    /// Scores it now + ARGV[2] by the server's clock (TIME, so no instance's clock matters), drops
    /// the members whose time ran out, and answers the members left.
    static let heartbeat = RedisScript(
        """
        local now = redis.call('TIME')
        local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
        redis.call('ZADD', KEYS[1], string.format('%.0f', ms + tonumber(ARGV[2])), ARGV[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', ms))
        return redis.call('ZRANGE', KEYS[1], 0, -1)
        """)
}

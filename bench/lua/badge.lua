-- GET /api/v1/kiosk/members/by-badge/{badge}: random badge of the bench members, tokens in turn.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local tokens = c.lines(os.getenv("BENCH_TOKENS"))
local badges = c.lines(os.getenv("BENCH_BADGES"))
local n = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  n = n + 1
  local tok = tokens[(n % #tokens) + 1]
  local badge = badges[math.random(#badges)]
  return wrk.format("GET", "/api/v1/kiosk/members/by-badge/" .. badge,
    { ["Authorization"] = "Bearer " .. tok })
end

done = c.done

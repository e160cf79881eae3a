-- GET /api/v1/kiosk/members/by-badge/{badge}: random badge of the bench members, tokens in turn.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local tokens = c.lines(os.getenv("BENCH_TOKENS"))
local badges = c.lines(os.getenv("BENCH_BADGES"))
local n = 0

-- Each wrk thread has its own Lua state: give each an id, its own random stream and token offset.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  n = id * 7
end

function request()
  n = n + 1
  local tok = tokens[(n % #tokens) + 1]
  local badge = badges[math.random(#badges)]
  return wrk.format("GET", "/api/v1/kiosk/members/by-badge/" .. badge,
    { ["Authorization"] = "Bearer " .. tok })
end

done = c.done

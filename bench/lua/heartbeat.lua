-- POST /api/v1/kiosk/heartbeat: tokens in turn (one kiosk per token), a realistic body.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local tokens = c.lines(os.getenv("BENCH_TOKENS"))
local n = 0
local body = '{"app_version":"2.4.1","uptime_secs":86400,"mic_status":"ok","network_quality":"good"}'

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  n = id * 7
end

function request()
  n = n + 1
  local tok = tokens[(n % #tokens) + 1]
  return wrk.format("POST", "/api/v1/kiosk/heartbeat",
    { ["Authorization"] = "Bearer " .. tok, ["Content-Type"] = "application/json" }, body)
end

done = c.done

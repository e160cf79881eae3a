-- POST /api/v1/auth/login: the users of BENCH_USERS (one e-mail a line) in turn, all with the
-- password BENCH_PASSWORD; every request is a real Argon2id verification and a new session.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local users = c.lines(os.getenv("BENCH_USERS"))
local password = os.getenv("BENCH_PASSWORD")
local n = 0

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
  local email = users[(n % #users) + 1]
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" },
    string.format('{"email":"%s","password":"%s"}', email, password))
end

done = c.done

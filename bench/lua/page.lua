-- GET of a dashboard page (the URL's path) as a signed-in user: the session cookie from
-- BENCH_COOKIE ("jarvis_session=…", obtained through the sign-in form by bench/run).
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")

wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")

-- A page that answers anything but 200 (a redirect to the sign-in form) counts as an error.
done = c.done

-- Shared by the wrk scripts: device tokens and badges from files named by environment variables,
-- one JSON line with the results at the end (parsed by bench/run).
local M = {}

function M.lines(path)
  local t = {}
  for l in io.lines(path) do
    if #l > 0 then t[#t + 1] = l end
  end
  return t
end

function M.done(summary, latency)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end

return M

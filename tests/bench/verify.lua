-- SPDX-License-Identifier: AGPL-3.0-or-later
-- verify.lua -- wrk script for tests/bench/verify.
--
-- BENCH_BODIES names a file of JSON bodies, one per line.  Each wrk thread
-- sends its own slice (line i goes to thread i mod BENCH_THREADS), in order,
-- so no body is sent twice until a thread runs out (then it starts over and
-- `wrapped` counts it).  Statuses are counted per thread and summed in
-- done(), which prints one line: BENCH_RESULT {json}.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % n == tid then bodies[#bodies + 1] = line end
    i = i + 1
  end
  idx = 0
  wrapped = 0
  s200, s401, s423, s503, sother = 0, 0, 0, 0, 0
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")
end

function request()
  idx = idx + 1
  if idx > #bodies then
    idx = 1
    wrapped = wrapped + 1
  end
  return wrk.format("POST", "/v1/authn/verify", nil, bodies[idx])
end

function response(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 401 then s401 = s401 + 1
  elseif status == 423 then s423 = s423 + 1
  elseif status == 503 then s503 = s503 + 1
  else sother = sother + 1 end
end

function done(summary, latency, requests)
  local t = {s200 = 0, s401 = 0, s423 = 0, s503 = 0, sother = 0, wrapped = 0}
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us": %d, "requests": %d, "s200": %d, "s401": %d, ' ..
    '"s423": %d, "s503": %d, "other": %d, "wrapped": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}}\n',
    summary.duration, summary.requests, t.s200, t.s401, t.s423, t.s503, t.sother, t.wrapped,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

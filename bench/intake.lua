-- intake.lua: wrk script of perf-bench's intake scenario (bench/README.md). Each request POSTs
-- one of the notification collections of the file given after `--` (one JSON body a line,
-- valid subscriptionId and clientState from olsync's ledger), in turn from a random start per
-- thread. At the end one line "PERF {json}" sums it up for perf-bench.
local bodies = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  i = math.random(#bodies)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

function done(summary, latency, requests)
  io.write(string.format('PERF {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,' ..
    '"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end

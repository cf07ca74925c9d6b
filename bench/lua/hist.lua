-- hist.lua — wraps another wrk script and, when the run ends, appends wrk's whole latency histogram
-- to a file, so that the runs of several wrk processes started together (bench/pg.sh: 50 writers
-- spread over 3 servers) merge into exact percentiles (bench/pg_bench.js merge).
-- Env: SY_WRK_SCRIPT (the script to wrap: its request/response/done run as they would alone),
--      SY_HIST_FILE (appended: one line "# requests R duration_us D non2xx N connect C read R write W
--      timeout T", then "<latency µs> <count>" per distinct latency).
local inner = os.getenv("SY_WRK_SCRIPT")
if inner and inner ~= "" then dofile(inner) end
local inner_done = done

function done(summary, latency, requests)
  if inner_done then inner_done(summary, latency, requests) end
  local f = os.getenv("SY_HIST_FILE")
  if not f or f == "" then return end
  local h = io.open(f, "a")
  if not h then return end
  local e = summary.errors
  h:write(string.format("# requests %d duration_us %d non2xx %d connect %d read %d write %d timeout %d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout))
  for i = 1, #latency do
    local v, c = latency(i)
    h:write(string.format("%d %d\n", v, c))
  end
  h:close()
end

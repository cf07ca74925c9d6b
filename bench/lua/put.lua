-- put.lua — wrk script: durable parameter writes, PUT /api/v1/params<prefix>/<n> with n = counter % names,
-- so the writes spread over SY_PUT_NAMES parameters (each request makes a new version of one of them).
-- Env: SY_TOKEN (bearer token), SY_PUT_PREFIX (default /bench/w), SY_PUT_NAMES (default 1000),
--      SY_PUT_COUNT_FILE (optional: done() appends "<requests> <non2xx>" so the caller can check the versions),
--      SY_PUT_SEED (optional, default 0: added to every thread's first counter, so that several wrk
--      processes started together write other names and values).
local token  = os.getenv("SY_TOKEN") or "bench-admin-token"
local prefix = os.getenv("SY_PUT_PREFIX") or "/bench/w"
local names  = tonumber(os.getenv("SY_PUT_NAMES") or "1000")

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local counter
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
-- ~100-byte value; the counter goes into it so every version really differs.
local pad = string.rep("x", 70)

function init(args)
  counter = (tid or 0) * 7919 + tonumber(os.getenv("SY_PUT_SEED") or "0")
end

function request()
  counter = counter + 1
  local n = counter % names
  local body = '{"value":"{\\"rollout\\":\\"' .. counter .. '\\",\\"pad\\":\\"' .. pad ..
               '\\"}","type":"String","overwrite":true}'
  return wrk.format("PUT", "/api/v1/params" .. prefix .. "/" .. n, headers, body)
end

function done(summary, latency, requests)
  local f = os.getenv("SY_PUT_COUNT_FILE")
  if f and f ~= "" then
    local h = io.open(f, "a")
    if h then
      h:write(summary.requests, " ", summary.errors.status, "\n")
      h:close()
    end
  end
end

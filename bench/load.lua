-- wrk script of the load test (python -m bench.load writes its plan and runs wrk with it).
--
--   wrk -t2 -c50 -d60s -s bench/load.lua http://127.0.0.1:PORT -- PLAN MAX_REQUESTS [KIND,KIND...]
--
-- PLAN is a tab-separated file written by bench/load.py:
--   H <name> <value>      a header sent with every request (the session cookie)
--   K <kind> <weight>     how often a request is of that kind
--   A <kind> <accept>     the Accept header a browser sends for that kind
--   U <kind> <path>       one URL of that kind
-- Each request picks a kind by weight, then one of its URLs at random. Each thread stops
-- after its share of MAX_REQUESTS responses (or when wrk's duration ends, whichever is first).
-- Given a list of kinds, only those are requested (the per-kind runs).
-- done() prints one line "LOAD-RESULT {json}" that bench/load.py reads. wrk itself always waits
-- out the duration, so the time of the first request and the last response (a monotonic clock
-- through LuaJIT's FFI) give the real span when the request bound stopped the threads earlier.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } load_timespec;
int clock_gettime(int clock_id, load_timespec *tp);
]])
local timespec = ffi.new("load_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function split_tabs(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

local kinds, cumulative, total, urls, accepts, common, limit

function init(args)
  local only = nil
  if args[3] and args[3] ~= "" then
    only = {}
    for kind in args[3]:gmatch("[^,]+") do
      only[kind] = true
    end
  end
  limit = tonumber(args[2])
  kinds, cumulative, total, urls, accepts, common = {}, {}, 0, {}, {}, {}
  local weights = {}
  for line in io.lines(args[1]) do
    local f = split_tabs(line)
    if f[1] == "H" then
      common[f[2]] = f[3]
    elseif f[1] == "K" then
      weights[f[2]] = tonumber(f[3])
      table.insert(kinds, f[2])
    elseif f[1] == "A" then
      accepts[f[2]] = f[3]
    elseif f[1] == "U" then
      urls[f[2]] = urls[f[2]] or {}
      table.insert(urls[f[2]], f[3])
    end
  end
  local chosen = {}
  for _, kind in ipairs(kinds) do
    if urls[kind] and (only == nil or only[kind]) then
      total = total + weights[kind]
      table.insert(chosen, kind)
      table.insert(cumulative, total)
    end
  end
  kinds = chosen
  assert(#kinds > 0, "no URLs for the chosen kinds")
  math.randomseed(id * 7919 + os.time())
  -- counters read by done() through thread:get
  sent = {}
  statuses = {}
  responses = 0
  failed = 0
  first_us = nil
  last_us = nil
  bounded = false
end

function request()
  first_us = first_us or now_us()
  local pick = math.random() * total
  local kind = kinds[#kinds]
  for i, bound in ipairs(cumulative) do
    if pick < bound then
      kind = kinds[i]
      break
    end
  end
  local list = urls[kind]
  local headers = {}
  for name, value in pairs(common) do
    headers[name] = value
  end
  headers["Accept"] = accepts[kind] or "*/*"
  sent[kind] = (sent[kind] or 0) + 1
  return wrk.format("GET", list[math.random(#list)], headers)
end

function response(status, headers, body)
  responses = responses + 1
  last_us = now_us()
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if not ((status >= 200 and status < 300) or status == 304) then
    failed = failed + 1
  end
  if responses >= limit then
    bounded = true
    wrk.thread:stop()
  end
end

local function json(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      table.insert(parts, string.format("%q:%s", tostring(k), json(v)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(value)
end

local function add(into, from)
  for k, v in pairs(from or {}) do
    into[k] = (into[k] or 0) + v
  end
end

function done(summary, latency, requests)
  local sent_all, status_all, responses_all, failed_all = {}, {}, 0, 0
  local first, last, bounded_all = math.huge, 0, true
  for _, thread in ipairs(threads) do
    first = math.min(first, thread:get("first_us") or math.huge)
    last = math.max(last, thread:get("last_us") or 0)
    bounded_all = bounded_all and thread:get("bounded")
    add(sent_all, thread:get("sent"))
    add(status_all, thread:get("statuses"))
    responses_all = responses_all + (thread:get("responses") or 0)
    failed_all = failed_all + (thread:get("failed") or 0)
  end
  local result = {
    duration_us = summary.duration,
    span_us = (last > first) and (last - first) or summary.duration,
    stopped_by_request_bound = bounded_all,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = summary.errors,
    responses = responses_all,
    bad_status = failed_all,
    statuses = status_all,
    sent = sent_all,
    latency_us = {
      min = latency.min,
      mean = latency.mean,
      stdev = latency.stdev,
      max = latency.max,
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p95 = latency:percentile(95),
      p99 = latency:percentile(99),
      p999 = latency:percentile(99.9),
    },
  }
  io.write("LOAD-RESULT " .. json(result) .. "\n")
end

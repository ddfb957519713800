-- wrk script shared by scripts/bench-isr and scripts/soak: one kind of
-- traffic per wrk process, described by its arguments (after wrk's `--`):
--
--   path=/blog?page={n}    a path to request (repeat it: requests rotate
--                          through the paths in order)
--   header=Name: value     a header sent with every request (repeatable)
--   method=POST            the method (default GET)
--   body=email=x{n}        a body sent with every request (give its
--                          Content-Type with header=; wrk adds Content-Length)
--   nonce=abc              makes {nonce} unique to this run
--   check=status           count responses by status (200, 206, 3xx, 4xx, 5xx;
--                          and, of the 4xx, 401 and 429 apart: a sign-in
--                          refused, and one throttled or turned away busy)
--   own=Ada Admin          check=visitor: the visitor these requests are for
--   other=Casey Customer   check=visitor: a name that must never appear
--                          (repeatable; with no `own`, every page must be
--                          anonymous)
--
-- Templates in paths, header values and the body, filled per request (one
-- {n} per request: the path, headers and body of a request share it):
--   {n}      a number no other request of this wrk process uses (each thread
--            counts on its own; up to 16 threads never collide), so a path
--            with {n} is a new cache key every time
--   {nonce}  the `nonce` argument
--   {rand}   64 random hex digits (a forged session id)
--
-- When wrk is done, one line for the calling script to parse:
--   wrk-result requests=… seconds=… rps=… p50_ms=… p99_ms=… status_errors=…
--   socket_errors=… [s200=… s206=… s3xx=… s4xx=… s401=… s429=… s5xx=…]
--   [dashboards=… named=… unnamed=… leaks=…]
-- (status_errors is wrk's count of statuses above 399.)
--
-- With no `check`, `response` is left nil, so wrk never hands bodies to Lua:
-- kinds compared by their rates must all run without it.

local threads = {}
local MAX_THREADS = 16

-- Setup and done run in wrk's main Lua state, the rest in each thread's own.
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local paths, headers = {}, {}
local method, request_body = nil, nil
local nonce, check, own, others = "", nil, nil, {}
local counter = 0

function init(args)
  for _, arg in ipairs(args) do
    local key, value = arg:match("^(%w+)=(.*)$")
    if key == "path" then
      table.insert(paths, value)
    elseif key == "header" then
      local name, header_value = value:match("^([^:]+):%s*(.*)$")
      assert(name, "header=Name: value, got " .. value)
      table.insert(headers, { name, header_value })
    elseif key == "method" then
      method = value
    elseif key == "body" then
      request_body = value
    elseif key == "nonce" then
      nonce = value
    elseif key == "check" then
      check = value
    elseif key == "own" then
      own = value
    elseif key == "other" then
      table.insert(others, value)
    else
      error("unknown argument: " .. arg)
    end
  end
  if #paths == 0 then
    paths = { wrk.path }
  end
  assert(tid < MAX_THREADS, "at most " .. MAX_THREADS .. " threads")
  -- Processes started in the same second must not forge the same ids.
  local seed = os.time() * MAX_THREADS + tid
  for i = 1, #nonce do
    seed = (seed * 31 + nonce:byte(i)) % 2147483647
  end
  math.randomseed(seed)
  -- Read back by done() through thread:get.
  s200, s206, s3xx, s4xx, s401, s429, s5xx = 0, 0, 0, 0, 0, 0, 0
  dashboards, named, unnamed, leaks = 0, 0, 0, 0
  if check == nil then
    response = nil
  else
    assert(check == "status" or check == "visitor", "check=status or check=visitor")
  end
end

local function random_hex()
  local parts = {}
  for i = 1, 8 do
    parts[i] = string.format("%08x", math.random(0, 0x7fffffff))
  end
  return table.concat(parts)
end

local function fill(template)
  if not template:find("{", 1, true) then
    return template
  end
  return (template:gsub("{(%w+)}", function(name)
    if name == "n" then
      -- Never 0: `?page=0` is a 400, not a page.
      return string.format("%d", counter * MAX_THREADS + tid + 1)
    elseif name == "nonce" then
      return nonce
    elseif name == "rand" then
      return random_hex()
    end
  end))
end

function request()
  counter = counter + 1
  local filled = {}
  for _, header in ipairs(headers) do
    filled[header[1]] = fill(header[2])
  end
  return wrk.format(method, fill(paths[(counter - 1) % #paths + 1]), filled, request_body and fill(request_body))
end

function response(status, _, body)
  if status == 200 then
    s200 = s200 + 1
  elseif status == 206 then
    s206 = s206 + 1
  elseif status >= 300 and status < 400 then
    s3xx = s3xx + 1
  elseif status >= 400 and status < 500 then
    s4xx = s4xx + 1
    if status == 401 then
      s401 = s401 + 1
    elseif status == 429 then
      s429 = s429 + 1
    end
  elseif status >= 500 then
    s5xx = s5xx + 1
  end
  if check ~= "visitor" or status ~= 200 then
    return
  end
  -- A page that names anyone must name this visitor and nobody else; the
  -- dashboard ("Welcome, <name>") must name this visitor.
  for _, name in ipairs(others) do
    if body:find(name, 1, true) then
      leaks = leaks + 1
      return
    end
  end
  if body:find("Welcome, ", 1, true) then
    dashboards = dashboards + 1
    if own and body:find(own, 1, true) then
      named = named + 1
    else
      unnamed = unnamed + 1
    end
  end
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  local line = string.format(
    "wrk-result requests=%d seconds=%.2f rps=%.0f p50_ms=%.2f p99_ms=%.2f status_errors=%d socket_errors=%d",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout)
  local function total(name)
    local sum = 0
    for _, thread in ipairs(threads) do
      sum = sum + (thread:get(name) or 0)
    end
    return sum
  end
  for _, name in ipairs({ "s200", "s206", "s3xx", "s4xx", "s401", "s429", "s5xx", "dashboards", "named", "unnamed", "leaks" }) do
    line = line .. string.format(" %s=%d", name, total(name))
  end
  io.write(line .. "\n")
end

-- wrk script of bench/checkin.sh: POST /api/v1/device/checkin, each request
-- as the next device of a token file (one device token per line), so every
-- request is a different device's check-in. Each wrk thread starts at its
-- own offset in the file. Counts the answers by action (the bench checks
-- that "nothing to do" runs got only "none", deployment runs only
-- "install").
-- Usage: wrk ... -s bench/checkin.lua URL -- TOKEN_FILE [INSTALLED_VERSION [START]]
-- (START: the line to begin at, for warm-ups that walk the whole file)
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local tokens, n, i, seq = {}, 0, 0, 0
local version = "1.0.0"
none, install, other = 0, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    n = n + 1
    tokens[n] = "Bearer " .. line
  end
  version = args[2] or version
  i = (math.floor(id * n / 8) + tonumber(args[3] or "0")) % n
end

function request()
  i = i % n + 1
  seq = seq + 1
  local body = string.format('{"installed_version":"%s","security_counter":1,'
    .. '"slots":{"a":"good","b":"empty"},"nonce":"%08x%08x%08x%08x"}',
    version, id, seq, i, n)
  return wrk.format("POST", "/api/v1/device/checkin",
    {["Authorization"] = tokens[i], ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if body:find('"action":"none"', 1, true) then
    none = none + 1
  elseif body:find('"action":"install"', 1, true) then
    install = install + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("none")
    b = b + t:get("install")
    c = c + t:get("other")
  end
  io.write(string.format("answers: none %d, install %d, other %d\n", a, b, c))
end

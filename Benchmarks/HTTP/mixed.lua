-- wrk: sustained mixed load on one server, each thread cycling through
--   2 in 100  predict for a task type never seen (creates an experiment of 10 agents),
--   68 in 100 predict for a task type this thread created (a decision on it),
--   30 in 100 feedback: 100 events for this thread's recent decisions.
--   wrk -s mixed.lua <url> -- <key> <run label>
local threads_made = 0
local threads = {}

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
  table.insert(threads, thread)
end

local agents = '["a0","a1","a2","a3","a4","a5","a6","a7","a8","a9"]'
local counter = 0
local created = {}
local recent = {}
local recent_next = 0
local kinds = {}
created_count, decisions_count, feedback_events, not_ok = 0, 0, 0, 0

function init(args)
  key = args[1]
  prefix = args[2] .. "-t" .. thread_number
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

local function predict(task)
  return wrk.format("POST", "/api/learning/predict/agent-selection", nil,
    '{"task_type":"' .. task .. '","available_agents":' .. agents .. '}')
end

function request()
  counter = counter + 1
  local slot = counter % 100
  if slot < 2 or #created == 0 then
    local task = prefix .. "-" .. counter
    created[#created + 1] = task
    kinds[#kinds + 1] = "create"
    return predict(task)
  elseif slot < 70 or #recent < 100 then
    kinds[#kinds + 1] = "decide"
    return predict(created[(counter * 7919) % #created + 1])
  else
    local parts = {}
    for i = 1, 100 do
      parts[i] = '{"event_id":"' .. prefix .. "-" .. counter .. "-" .. i .. '","decision_id":"' ..
        recent[(counter * 31 + i) % #recent + 1] .. '","reward":' .. (i % 2) .. '}'
    end
    kinds[#kinds + 1] = "feedback"
    return wrk.format("POST", "/v1/feedback", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
  end
end

function response(status, headers, body)
  local kind = table.remove(kinds, 1)
  if status ~= 200 then
    not_ok = not_ok + 1
    return
  end
  if kind == "feedback" then
    feedback_events = feedback_events + 100
  else
    if kind == "create" then created_count = created_count + 1 else decisions_count = decisions_count + 1 end
    local id = string.match(body, '"decision_id":"(%d+)"')
    if id then
      recent_next = recent_next % 10000 + 1
      recent[recent_next] = id
    end
  end
end

function done(summary, latency, requests)
  local c, d, f, n = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created_count")
    d = d + thread:get("decisions_count")
    f = f + thread:get("feedback_events")
    n = n + thread:get("not_ok")
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("mixed: %.0f requests/s over %.0f s (p99 %.2f ms): %.0f experiments created/s, %.0f decisions/s, %.0f feedback events/s",
    summary.requests / seconds, seconds, latency:percentile(99) / 1000, c / seconds, d / seconds, f / seconds))
  if n > 0 then io.write(string.format("  NON-200: %d", n)) end
  io.write("\n")
end

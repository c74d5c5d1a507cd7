-- wrk: POST /v1/feedback with a given number of events per request, each with a fresh
-- event id, for decisions listed (one id per line) in a file.
--   wrk -s feedback.lua <url>/v1/feedback -- <key> <decision id file> <events per request> <run label> [pause ms]
-- With a pause, each connection waits that long before each request: a fixed rate
-- of about connections x events x 1000 / pause events/s, instead of as fast as it goes.
local counter = 0
local threads_made = 0
local threads = {}
local decisions = {}
events = 1000
local key

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_number", threads_made)
  table.insert(threads, thread)
end

function init(args)
  key = args[1]
  for line in io.lines(args[2]) do decisions[#decisions + 1] = line end
  events = tonumber(args[3])
  pause = tonumber(args[5] or "0")
  -- Event ids unique to this run (args[4]) and thread, so that a second run
  -- sends fresh events, not duplicates of the first run's.
  prefix = args[4] .. "-t" .. thread_number
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function delay()
  return pause
end

function request()
  local parts = {}
  for i = 1, events do
    counter = counter + 1
    parts[i] = '{"event_id":"' .. prefix .. '-' .. counter .. '","decision_id":"' ..
      decisions[(counter % #decisions) + 1] .. '","reward":' .. (counter % 2) .. '}'
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end

-- Counted in each thread's own Lua state; done() reads them from the threads.
responses_not_ok = 0
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"rejected"', 1, true) or string.find(body, '"duplicate"', 1, true) then
    responses_not_ok = responses_not_ok + 1
  end
end

function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do not_ok = not_ok + thread:get("responses_not_ok") end
  -- The threads' own figure: init(), which reads it, ran only in their states.
  local events = threads[1]:get("events")
  io.write(string.format("feedback: %d requests of %d events in %.2f s = %.0f events/s",
    summary.requests, events, summary.duration / 1e6, summary.requests * events / (summary.duration / 1e6)))
  if not_ok > 0 then
    io.write(string.format("  NOT ALL ACCEPTED: %d responses with a non-200 status or an event not accepted", not_ok))
  end
  io.write("\n")
end

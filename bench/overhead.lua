-- wrk script: POSTs tasks with unique ids to the path given after `--`, counts answers
-- by status, and prints `accepted_per_s N` and `statuses ...` at the end.
-- wrk -s bench/overhead.lua URL -- /send-task
local threads = {}
local made = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
  table.insert(threads, thread)
end

local counter = 0
local prefix = ""
local path = "/send-task"
statuses = {}

function init(args)
  path = args[1] or path
  -- Unique per wrk thread and per run, so ids never collide.
  prefix = string.format("%d-%d", os.time(), tid)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"task_id":"%s-%d","task_type":"sample_task_1","label":"a","parameters_json":"{}"}',
    prefix, counter)
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, ok = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
      if status >= 200 and status < 300 then ok = ok + n end
    end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, status .. "=" .. n) end
  table.sort(parts)
  io.write(string.format("accepted_per_s %.0f\n", ok / (summary.duration / 1e6)))
  io.write("statuses " .. table.concat(parts, ",") .. "\n")
end

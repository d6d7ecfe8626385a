-- wrk script: POSTs a task with a unique id to the path given after `--`.
-- wrk -s bench/overhead.lua URL -- /send-task
local counter = 0
local prefix = ""
local path = "/send-task"

function init(args)
  path = args[1] or path
  -- Unique per wrk thread and per run, so ids never collide with earlier runs.
  prefix = string.format("%d-%d-%06x", os.time(), math.random(1, 1e9), math.random(0, 0xffffff))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"task_id":"%s-%d","task_type":"sample_task_1","label":"a","parameters_json":"{}"}',
    prefix, counter)
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

-- wrk script: POST /run-task with unique task ids (thread, counter, run tag from args),
-- a no-op sample_task_1 on one label. Used by bench/python-worker.sh.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  tag = args[1] or "run"
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"task_id":"%s-%d-%d","task_type":"sample_task_1","label":"label-1","parameters_json":"{}"}',
    tag, id, counter)
  return wrk.format("POST", "/run-task", { ["Content-Type"] = "application/json" }, body)
end

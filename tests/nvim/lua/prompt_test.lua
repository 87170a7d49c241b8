-- The window/showMessageRequest handler, run the way Neovim runs server
-- requests (inside a coroutine), with vim.ui.select replaced by a recorder.
-- Run with nvim --headless -l; exits 1 on a failed check.
local prompt = require("session_sidecar.prompt")

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    io.stderr:write("FAIL " .. what .. "\n")
  end
end

local seen
local answer
vim.ui.select = function(items, opts, on_choice)
  seen = { items = items, opts = opts }
  on_choice(answer and items[answer] or nil, answer)
end

local params = {
  type = 3,
  message = "Branch changed from main to feature",
  actions = { { title = 'Resume "fix login"' }, { title = "Start fresh" }, { title = "Continue here" } },
}

-- Run the handler as rpc.lua does: a coroutine scheduled on the main loop.
local function run()
  local result, finished = nil, false
  vim.schedule(coroutine.wrap(function()
    result = prompt.show_message_request(nil, params, { client_id = 1 })
    finished = true
  end))
  check(vim.wait(2000, function()
    return finished
  end, 5), "handler finished")
  return result
end

answer = 2
local chosen = run()
check(type(chosen) == "table" and chosen.title == "Start fresh", "returns the chosen action item")
check(seen.opts.kind == "session_sidecar.drift", "kind is session_sidecar.drift")
check(seen.opts.prompt:find("Branch changed from main to feature", 1, true) ~= nil, "prompt shows the message")
check(seen.opts.format_item(seen.items[1]) == 'Resume "fix login"', "items show their titles")

-- With the pending recommendation known (driftDetected came first), the
-- items are the server's choices, shown by their labels; the answer is the
-- chosen one's title.
local st = require("session_sidecar.state").get("/repo")
st.client_id = 1
st.drift = {
  recommendation = {
    choices = {
      { key = "resume", action = "resume", sessionId = "S1", title = 'Resume "fix login"', label = 'Resume "fix login" on feature', recommended = true },
      { key = "fresh", action = "fresh", title = "Start fresh", label = "Start a fresh session on feature" },
      { key = "continue", action = "continue", title = "Continue here", label = 'Continue "other"' },
    },
  },
}
answer = 1
chosen = run()
check(vim.deep_equal(chosen, { title = 'Resume "fix login"' }), "returns the chosen option's title: " .. vim.inspect(chosen))
local shown = vim.tbl_map(seen.opts.format_item, seen.items)
check(
  vim.deep_equal(shown, { 'Resume "fix login" on feature (recommended)', "Start a fresh session on feature", 'Continue "other"' }),
  "items show the server's labels, recommended marked: " .. vim.inspect(shown)
)

answer = nil
check(run() == vim.NIL, "cancel returns vim.NIL, not nil")

params.actions = {}
check(run() == vim.NIL, "no actions: nothing to choose, vim.NIL")

if failures > 0 then
  os.exit(1)
end
print("prompt_test: all checks passed")

--- The drift prompt, through vim.ui.select (so it works with any UI picker
--- and never blocks on `inputlist()`).
---
--- A prompt never opens while the user types: one that arrives outside
--- normal mode waits (with a notification) until normal mode, or until
--- :SessionsDecide opens it. A dismissed decision stays pending on the
--- server, and :SessionsDecide (or <CR> on the panel's drift line) asks again.
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- The `kind` passed to vim.ui.select, so pickers (and tests) can tell the
--- drift prompt apart from other selections.
M.kind = "session_sidecar.drift"

--- @class session_sidecar.WaitingPrompt
--- @field open fun() show the prompt now
--- @field drop fun() forget it (a native request is answered as dismissed)

--- Prompts that arrived outside normal mode, by root (or `client:<id>`).
--- @type table<string, session_sidecar.WaitingPrompt>
M.waiting = {}

--- True when a prompt may open now: the user is in normal mode, not typing
--- (insert, replace, visual, command-line and operator-pending all wait).
--- @return boolean
function M.ready()
  local mode = vim.api.nvim_get_mode()
  return (mode.mode == "n" or mode.mode == "nt") and not mode.blocking
end

local watching = false

--- Open the waiting prompts once the user is back in normal mode.
local function watch_modes()
  if watching then
    return
  end
  watching = true
  vim.api.nvim_create_autocmd("ModeChanged", {
    group = vim.api.nvim_create_augroup("session_sidecar_prompt", { clear = true }),
    pattern = "*:n*",
    callback = function()
      if not M.ready() then
        return
      end
      watching = false
      -- After the mode change has finished (an <Esc> mapping may still run);
      -- by then the user may be typing again: wait for the next time.
      vim.schedule(function()
        if not M.ready() then
          watch_modes()
          return
        end
        for key, waiting in pairs(M.waiting) do
          M.waiting[key] = nil
          waiting.open()
        end
      end)
      return true -- delete this autocmd
    end,
  })
end

--- Show a prompt now (`open`) if the user is in normal mode; otherwise keep
--- it for `key` until normal mode and say that a decision is waiting. A
--- newer prompt for `key` replaces (drops) a waiting one.
--- @param key string
--- @param summary string|nil
--- @param open fun()
--- @param drop fun()
function M.when_ready(key, summary, open, drop)
  local previous = M.waiting[key]
  if previous then
    M.waiting[key] = nil
    previous.drop()
  end
  if M.ready() then
    open()
    return
  end
  M.waiting[key] = { open = open, drop = drop }
  watch_modes()
  require("session_sidecar.client").notify(
    string.format(
      "a drift decision is waiting%s: it opens when you are back in normal mode, or now with :SessionsDecide",
      summary and summary ~= "" and (" (" .. format.one_line(summary) .. ")") or ""
    ),
    vim.log.levels.WARN
  )
end

--- Send the user's drift decision to the server of `root`.
--- @param root string
--- @param choice { action: string, sessionId: string|nil, remember: boolean|nil }
function M.decide(root, choice)
  local client = require("session_sidecar.client")
  client.request(root, "sidecar/drift/decide", {
    action = choice.action,
    sessionId = choice.sessionId,
    remember = choice.remember,
  }, function(err)
    if err then
      client.notify("drift/decide failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end)
end

--- The vim.ui.select options of a decision: the question as the prompt,
--- each choice shown by its label (the recommended one marked).
--- @param question string
--- @return table
local function select_opts(question)
  return {
    prompt = "Session Sidecar: " .. format.one_line(question),
    kind = M.kind,
    format_item = format.choice_item,
  }
end

--- The pending recommendation of `root` as last heard (its `choices`).
--- @param root string|nil
--- @return table|nil
local function pending(root)
  local st = root and state.roots[root]
  local rec = st and st.drift and st.drift.recommendation
  return type(rec) == "table" and rec or nil
end

--- Handler for `window/showMessageRequest` (prompts = "native"). The server
--- asks with message = the decision's question and actions = its choices'
--- titles; the choices are shown by their labels (from the pending
--- recommendation that `sidecar/driftDetected` brought just before) and
--- answered with the chosen one's title. Server requests run inside a
--- coroutine in Neovim >= 0.11: ask with vim.ui.select (once in normal
--- mode), yield until the user answers, return the chosen action item, or
--- vim.NIL when the prompt was dismissed (nil would be an error).
--- @param params table ShowMessageRequestParams
--- @param ctx table
--- @return table|userdata
function M.show_message_request(_, params, ctx)
  local actions = (type(params) == "table" and params.actions) or {}
  local message = (type(params) == "table" and params.message) or ""
  if #actions == 0 then
    vim.notify("[session_sidecar] " .. message, vim.log.levels.INFO)
    return vim.NIL
  end
  local root = ctx and state.root_of_client(ctx.client_id)
  local key = root or ("client:" .. tostring(ctx and ctx.client_id))
  local items = format.native_items(actions, pending(root))
  local opts = select_opts(message)
  local co, is_main = coroutine.running()
  if co and not is_main then
    local answered = false
    local function answer(choice)
      if answered then
        return
      end
      answered = true
      -- Resume on the next tick: a synchronous vim.ui.select calls back
      -- before this coroutine has yielded.
      vim.schedule(function()
        coroutine.resume(co, choice and { title = choice.title } or vim.NIL)
      end)
    end
    M.when_ready(key, message, function()
      vim.ui.select(items, opts, answer)
    end, function()
      answer(nil)
    end)
    return coroutine.yield()
  end
  -- Outside a coroutine the answer cannot wait: dismiss the request now and
  -- send the chosen option as a sidecar/drift/decide once the user makes it.
  vim.schedule(function()
    M.when_ready(key, message, function()
      vim.ui.select(items, opts, function(choice)
        if not choice then
          return
        end
        if root and choice.action then
          M.decide(root, choice)
        else
          require("session_sidecar.client").notify(
            "could not answer this prompt; :SessionsDecide asks again",
            vim.log.levels.WARN
          )
        end
      end)
    end, function() end)
  end)
  return vim.NIL
end

--- Ask about recommendation `rec` of `root` with the server's choices
--- (recommended first, shown by their labels) and its question, and send the
--- chosen option's `action`, `sessionId` and `remember` with
--- `sidecar/drift/decide`.
--- @param root string
--- @param rec table the recommendation
function M.choose(root, rec)
  local choices = type(rec.choices) == "table" and rec.choices or {}
  if #choices == 0 then
    require("session_sidecar.client").notify("no drift decision is pending")
    return
  end
  vim.ui.select(choices, select_opts(format.decision_question(rec)), function(choice)
    if choice then
      M.decide(root, choice)
    end
  end)
end

--- Ask about a `sidecar/driftDetected` notification (prompts = "custom").
--- @param root string
--- @param params table { folder, recommendation, before, after }
function M.ask_custom(root, params)
  local rec = params.recommendation
  if type(rec) ~= "table" or rec.ask == false or rec.deferred == true then
    return
  end
  M.when_ready(root, rec.summary, function()
    M.choose(root, rec)
  end, function() end)
end

--- :SessionsDecide: open the pending drift decision of `root` again. A
--- prompt waiting for normal mode opens now; otherwise the server is asked
--- what is pending (a dismissed prompt leaves it pending) and its choices
--- are offered; with nothing pending, say so.
--- @param root string
function M.reopen(root)
  local waiting = M.waiting[root]
  if waiting then
    M.waiting[root] = nil
    waiting.open()
    return
  end
  local client = require("session_sidecar.client")
  client.refresh_status(root, function(err)
    if err then
      client.notify("status failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local st = state.get(root)
    local rec = st.drift and st.drift.recommendation
    if type(rec) ~= "table" then
      client.notify("no drift decision is pending")
      return
    end
    M.choose(root, rec)
  end)
end

-- A decision made elsewhere (another prompt, a command, the server) settles
-- a waiting prompt: drop it rather than ask about the past.
state.on("session", function(root)
  local waiting = M.waiting[root]
  if waiting then
    M.waiting[root] = nil
    waiting.drop()
  end
end)
state.on("exit", function(root)
  local waiting = M.waiting[root]
  if waiting then
    M.waiting[root] = nil
    waiting.drop()
  end
end)

return M

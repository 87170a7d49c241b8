--- The drift prompt, through vim.ui.select (so it works with any UI picker
--- and never blocks on `inputlist()`).
local format = require("session_sidecar.format")
local state = require("session_sidecar.state")

local M = {}

--- The `kind` passed to vim.ui.select, so pickers (and tests) can tell the
--- drift prompt apart from other selections.
M.kind = "session_sidecar.drift"

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

--- Handler for `window/showMessageRequest` (prompts = "native"). Server
--- requests run inside a coroutine in Neovim >= 0.11: ask with
--- vim.ui.select, yield until the user answers, return the chosen action
--- item, or vim.NIL when the prompt was dismissed (nil would be an error).
--- @param params table ShowMessageRequestParams
--- @param ctx table
--- @return table|userdata
function M.show_message_request(_, params, ctx)
  local actions = (type(params) == "table" and params.actions) or {}
  local message = (type(params) == "table" and params.message) or ""
  local opts = {
    prompt = "Session Sidecar: " .. message,
    kind = M.kind,
    format_item = function(action)
      return ((action.title or ""):gsub("\r?\n", " "))
    end,
  }
  if #actions == 0 then
    vim.notify("[session_sidecar] " .. message, vim.log.levels.INFO)
    return vim.NIL
  end
  local co, is_main = coroutine.running()
  if co and not is_main then
    vim.ui.select(actions, opts, function(choice)
      -- Resume on the next tick: a synchronous vim.ui.select calls back
      -- before this coroutine has yielded.
      vim.schedule(function()
        coroutine.resume(co, choice or vim.NIL)
      end)
    end)
    return coroutine.yield()
  end
  -- Outside a coroutine the answer cannot wait: dismiss the request now and
  -- send the choice as a sidecar/drift/decide once the user makes it.
  local root = ctx and state.root_of_client(ctx.client_id)
  vim.schedule(function()
    vim.ui.select(actions, opts, function(choice)
      local decision = choice and format.action_for_title(choice.title)
      if root and decision then
        local st = state.get(root)
        if decision.action == "resume" and st.drift and st.drift.recommendation then
          decision.sessionId = st.drift.recommendation.targetSessionId
        end
        M.decide(root, decision)
      end
    end)
  end)
  return vim.NIL
end

--- Ask about a `sidecar/driftDetected` notification (prompts = "custom").
--- @param root string
--- @param params table { folder, recommendation, before, after }
function M.ask_custom(root, params)
  local rec = params.recommendation
  if type(rec) ~= "table" or rec.ask == false or rec.deferred == true then
    return
  end
  local client = require("session_sidecar.client")
  local function ask(target_name)
    local choices = format.drift_choices(rec, target_name)
    vim.ui.select(choices, {
      prompt = "Session Sidecar: " .. (rec.summary or "the session boundary changed"),
      kind = M.kind,
      format_item = function(c)
        return c.title
      end,
    }, function(choice)
      if choice then
        M.decide(root, choice)
      end
    end)
  end
  if rec.targetSessionId and rec.targetSessionId ~= vim.NIL then
    client.request(root, "sidecar/sessions/show", { sessionId = rec.targetSessionId }, function(err, res)
      ask((not err and res and res.session and res.session.name) or nil)
    end)
  else
    ask(nil)
  end
end

return M

--- One sidecar LSP client per repository root: start, find, request.
local config = require("session_sidecar.config")
local state = require("session_sidecar.state")

local M = {}

--- The client name, as shown by :checkhealth vim.lsp and :LspInfo.
M.name = "session_sidecar"

--- Report a problem or a result to the user, prefixed with the plugin name.
--- @param msg string
--- @param level integer|nil
function M.notify(msg, level)
  vim.notify("[session_sidecar] " .. msg, level or vim.log.levels.INFO)
end

--- A params table that encodes as a JSON object even when empty: `{}`
--- encodes as `[]`, and the server must always get an object.
--- @param t table|nil
--- @return table
function M.params(t)
  if t == nil or next(t) == nil then
    return vim.empty_dict()
  end
  return t
end

--- The repository root (worktree root) for a buffer, or for the working
--- directory when the buffer has no file. Panels remember their root.
--- @param bufnr integer|nil
--- @return string|nil
function M.root_for(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local remembered = vim.b[bufnr].session_sidecar_root
  if type(remembered) == "string" and remembered ~= "" then
    return remembered
  end
  local root
  if vim.bo[bufnr].buftype == "" and vim.api.nvim_buf_get_name(bufnr) ~= "" then
    root = vim.fs.root(bufnr, ".git")
  end
  root = root or vim.fs.root(vim.fn.getcwd(), ".git")
  if not root then
    return nil
  end
  -- Symlinked paths must map to one client, not two.
  return vim.uv.fs_realpath(root) or root
end

local function on_session_changed(_, params, ctx)
  local root = state.root_of_client(ctx.client_id)
  if not root or type(params) ~= "table" then
    return
  end
  local st = state.get(root)
  st.session = type(params.session) == "table" and params.session or nil
  st.drift = nil
  state.emit("session", root, params)
  vim.cmd.redrawstatus({ bang = true })
  -- st.branch is HEAD's branch, never the session's: a session of another
  -- branch (resumed, or started on a branch the sidecar created) makes us
  -- ask the server where HEAD is now.
  local b = st.session and st.session.boundary
  if b and b.branch ~= st.branch then
    -- Until the server says, the session's branch is the best guess.
    st.branch = st.branch or b.branch
    M.refresh_status(root)
  end
end

local function on_drift_detected(_, params, ctx)
  local root = state.root_of_client(ctx.client_id)
  if not root or type(params) ~= "table" then
    return
  end
  local st = state.get(root)
  st.drift = params
  if type(params.after) == "table" and params.after.branch then
    st.branch = params.after.branch
  end
  state.emit("drift", root, params)
  vim.cmd.redrawstatus({ bang = true })
  if config.options.prompts == "custom" then
    require("session_sidecar.prompt").ask_custom(root, params)
  end
end

local function on_history_changed(_, params, ctx)
  local root = state.root_of_client(ctx.client_id)
  if not root or type(params) ~= "table" then
    return
  end
  state.emit("history", root, params)
end

--- Handlers for the sidecar's notifications and the native drift prompt.
--- @return table<string, function>
function M.handlers()
  return {
    ["sidecar/sessionChanged"] = on_session_changed,
    ["sidecar/driftDetected"] = on_drift_detected,
    ["sidecar/historyChanged"] = on_history_changed,
    ["window/showMessageRequest"] = function(err, params, ctx)
      return require("session_sidecar.prompt").show_message_request(err, params, ctx)
    end,
  }
end

--- Ask the server for `sidecar/status` and store it for the statusline and panel.
--- @param root string
--- @param cb fun(err: any, result: table|nil)|nil
function M.refresh_status(root, cb)
  M.request(root, "sidecar/status", {}, function(err, result)
    if not err and type(result) == "table" then
      local st = state.get(root)
      st.status = result
      if type(result.boundary) == "table" and result.boundary.branch then
        st.branch = result.boundary.branch
      end
      -- JSON null arrives as nil (the RPC layer decodes with luanil).
      st.session = type(result.activeSession) == "table" and result.activeSession or nil
      if type(result.pendingRecommendation) == "table" then
        -- The server's pending decision is the one to answer (its choices
        -- may be newer than the last driftDetected's).
        st.drift = st.drift or {}
        st.drift.recommendation = result.pendingRecommendation
      else
        st.drift = nil
      end
      state.emit("status", root, result)
      vim.cmd.redrawstatus({ bang = true })
    end
    if cb then
      cb(err, result)
    end
  end)
end

--- The running client for `root`, if it is alive.
--- @param root string
--- @return vim.lsp.Client|nil
function M.get(root)
  local st = state.roots[root]
  if not st or not st.client_id then
    return nil
  end
  local client = vim.lsp.get_client_by_id(st.client_id)
  if not client or client:is_stopped() then
    st.client_id = nil
    return nil
  end
  return client
end

--- The client for `root`, started if needed. `vim.lsp.start` with
--- `attach = false` never reuses clients, so the registry is kept here.
--- @param root string
--- @return vim.lsp.Client|nil client, string|nil error
function M.ensure(root)
  local existing = M.get(root)
  if existing then
    return existing, nil
  end
  local o = config.options
  local server = require("session_sidecar.server")
  local problem = server.problem(o.cmd, { env = o.cmd_env, cwd = root, is_default = config.cmd_is_default })
  if problem then
    return nil, server.message(problem)
  end
  local st = state.get(root)
  st.start_error = nil
  -- A server that exits before answering initialize is a broken install:
  -- its exit is explained here (command, what it printed, what to do),
  -- so Neovim's generic "Client quit with exit code 1" is not shown for it.
  local initialized, early_exit = false, nil
  local function spawn(dispatchers)
    local wrapped = setmetatable({
      on_exit = function(code, signal)
        if not initialized and code ~= 0 and signal == 0 then
          early_exit = code
          code = 0
        end
        return dispatchers.on_exit(code, signal)
      end,
    }, { __index = dispatchers })
    return vim.lsp.rpc.start(o.cmd, wrapped, { cwd = root, env = o.cmd_env })
  end
  local id = vim.lsp.start({
    name = M.name,
    cmd = spawn,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fs.basename(root) } },
    init_options = config.init_options(o),
    capabilities = vim.lsp.protocol.make_client_capabilities(),
    handlers = M.handlers(),
    on_init = function(client)
      initialized = true
      M.refresh_status(root)
      state.emit("init", root, client)
    end,
    on_exit = function(code, signal, client_id)
      vim.schedule(function()
        if st.client_id ~= client_id then
          return
        end
        st.client_id = nil
        if not early_exit then
          state.emit("exit", root, { code = code, signal = signal })
          return
        end
        server.explain_exit(o.cmd, early_exit, o.cmd_env, function(message)
          st.start_error = message
          M.notify(message, vim.log.levels.ERROR)
          state.emit("exit", root, { code = early_exit, signal = signal, message = message })
        end)
      end)
    end,
  }, { attach = false })
  if not id then
    return nil, "the server failed to start (" .. table.concat(o.cmd, " ") .. "); see :checkhealth session_sidecar"
  end
  st.client_id = id
  return vim.lsp.get_client_by_id(id), nil
end

--- Attach a file buffer to its repository's client (didOpen/didSave/didClose
--- tell the server which files the session touches; it stores paths only).
--- @param bufnr integer
function M.attach(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return
  end
  if vim.api.nvim_buf_get_name(bufnr) == "" then
    return
  end
  local root = vim.fs.root(bufnr, ".git")
  if not root then
    return
  end
  root = vim.uv.fs_realpath(root) or root
  local st = state.get(root)
  if st.start_error and not M.get(root) then
    -- Already said why the server cannot start; a command (:Sessions) tries again.
    return
  end
  local client, err = M.ensure(root)
  if not client then
    st.start_error = err or "could not start the server"
    -- After the autocommand that opened the file, so it reads as the
    -- plugin's message, not as an error in that autocommand.
    local message = st.start_error
    vim.schedule(function()
      M.notify(message, vim.log.levels.ERROR)
    end)
    return
  end
  if config.options.attach_buffers then
    vim.lsp.buf_attach_client(bufnr, client.id)
  end
end

--- Send `method` to the client of `root` (started if needed); `cb(err,
--- result)` runs on the main loop. Errors are passed to `cb`, or shown.
--- @param root string|nil
--- @param method string
--- @param params table|nil
--- @param cb fun(err: any, result: any)|nil
function M.request(root, method, params, cb)
  cb = cb
    or function(err)
      if err then
        M.notify(method .. ": " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
    end
  if not root then
    cb({ message = "not inside a git repository" }, nil)
    return
  end
  local client, err = M.ensure(root)
  if not client then
    cb({ message = err }, nil)
    return
  end
  local ok = client:request(method, M.params(params), function(e, result)
    cb(e, result)
  end)
  if not ok then
    cb({ message = "the sidecar server is not running" }, nil)
  end
end

--- Like request(), but waits up to `timeout_ms` and returns `result, err`.
--- @param root string|nil
--- @param method string
--- @param params table|nil
--- @param timeout_ms integer|nil
--- @return any result, any err
function M.request_sync(root, method, params, timeout_ms)
  local done, res, rerr = false, nil, nil
  M.request(root, method, params, function(e, r)
    done, res, rerr = true, r, e
  end)
  if not vim.wait(timeout_ms or 5000, function()
    return done
  end, 10) then
    return nil, { message = method .. " timed out" }
  end
  return res, rerr
end

--- Stop every sidecar client this plugin started.
function M.stop_all()
  for _, st in pairs(state.roots) do
    local client = st.client_id and vim.lsp.get_client_by_id(st.client_id)
    if client then
      client:stop()
    end
  end
end

return M

--- Session lifecycle verbs (fresh, resume, fork, rename, end, delete, export,
--- checkpoint), shared by the :Sessions* commands and the panel's keys.
--- Each takes the repository root and calls `done(err, result)` when the
--- server has answered, so callers can refresh what they show.
local client = require("session_sidecar.client")
local format = require("session_sidecar.format")

local M = {}

local function finish(what, done)
  return function(err, result)
    if err then
      client.notify(what .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    if done then
      done(err, result)
    end
  end
end

--- Start a new session on the current boundary.
--- @param root string
--- @param name string|nil
--- @param done fun(err: any, result: any)|nil
function M.fresh(root, name, done)
  local params = {}
  if name and name ~= "" then
    params.name = name
  end
  client.request(root, "sidecar/sessions/start", params, finish("start", function(err, res)
    if not err and res and res.session then
      client.notify('started "' .. format.session_label(res.session) .. '"')
      if type(res.warning) == "table" then
        client.notify(res.warning.message or vim.inspect(res.warning), vim.log.levels.WARN)
      end
    end
    if done then
      done(err, res)
    end
  end))
end

--- Resume a session by id. When another client holds it, offer to fork it
--- or take it over, as the server suggests.
--- @param root string
--- @param session_id string
--- @param done fun(err: any, result: any)|nil
--- @param take_over boolean|nil
function M.resume(root, session_id, done, take_over)
  local params = { sessionId = session_id }
  if take_over then
    params.takeOver = true
  end
  client.request(root, "sidecar/sessions/resume", params, finish("resume", function(err, res)
    if err or not res then
      if done then
        done(err, res)
      end
      return
    end
    local warning = type(res.warning) == "table" and res.warning or nil
    if warning and warning.code == "held" then
      vim.ui.select({ "Fork it", "Take it over", "Cancel" }, {
        prompt = warning.message or "That session is in use elsewhere",
        kind = "session_sidecar.held",
      }, function(choice)
        if choice == "Fork it" then
          M.fork(root, session_id, nil, done)
        elseif choice == "Take it over" then
          M.resume(root, session_id, done, true)
        elseif done then
          done(nil, res)
        end
      end)
      return
    end
    if warning and warning.code == "other_branch" and type(warning.branch) == "string" then
      M.offer_branch(root, res.session, warning, done)
      return
    end
    if warning then
      client.notify(warning.message or vim.inspect(warning), vim.log.levels.WARN)
    elseif res.session then
      client.notify('resumed "' .. format.session_label(res.session) .. '"')
    end
    if done then
      done(nil, res)
    end
  end))
end

--- `git switch <branch>` in the worktree `root`; `done(ok)` runs on the
--- main loop. A failure is reported with git's own words.
--- @param root string
--- @param branch string
--- @param done fun(ok: boolean)|nil
function M.switch_branch(root, branch, done)
  local argv = { "git", "switch", branch }
  local ok, err = pcall(vim.system, argv, { cwd = root, text = true }, function(res)
    vim.schedule(function()
      if res.code == 0 then
        client.notify(string.format("switched to branch %s", branch))
        client.refresh_status(root)
      else
        client.notify(
          string.format(
            "%s failed (exit %d) in %s: %s",
            table.concat(argv, " "),
            res.code,
            root,
            vim.trim((res.stderr or "") .. (res.stdout or ""))
          ),
          vim.log.levels.ERROR
        )
      end
      if done then
        done(res.code == 0)
      end
    end)
  end)
  if not ok then
    client.notify("could not run git: " .. tostring(err), vim.log.levels.ERROR)
    if done then
      done(false)
    end
  end
end

--- A session recorded on another branch was resumed: say so and offer to
--- switch to its branch, fork it onto the worktree's branch, or go on.
--- @param root string
--- @param session table the resumed session
--- @param warning table the `other_branch` warning (`branch`: the session's branch)
--- @param done fun(err: any, result: any)|nil called with the resume result, after the choice
function M.offer_branch(root, session, warning, done)
  local head = require("session_sidecar.state").get(root).branch or "this branch"
  local result = { session = session, resumed = true, warning = warning }
  local function finished()
    if done then
      done(nil, result)
    end
  end
  client.notify(warning.message, vim.log.levels.WARN)
  local choices = {
    {
      title = string.format("Switch to %s", warning.branch),
      run = function()
        M.switch_branch(root, warning.branch, finished)
      end,
    },
    {
      title = string.format("Fork onto %s", head),
      run = function()
        M.fork(root, session.id, nil, finished)
      end,
    },
    { title = "Go on here", run = finished },
  }
  vim.ui.select(choices, {
    prompt = warning.message,
    kind = "session_sidecar.other_branch",
    format_item = function(c)
      return c.title
    end,
  }, function(choice)
    (choice and choice.run or finished)()
  end)
end

--- Pin a session (listed first, kept by cleanup) or unpin it.
--- @param root string
--- @param session_id string
--- @param pinned boolean
--- @param done fun(err: any, result: any)|nil
function M.pin(root, session_id, pinned, done)
  client.request(
    root,
    "sidecar/sessions/pin",
    { sessionId = session_id, pinned = pinned },
    finish(pinned and "pin" or "unpin", function(err, res)
      if not err and res and res.session then
        client.notify(string.format('%s "%s"', pinned and "pinned" or "unpinned", format.session_label(res.session)))
      end
      if done then
        done(err, res)
      end
    end)
  )
end

--- Fork a session at its latest event (or at `at_seq`).
--- @param root string
--- @param session_id string
--- @param at_seq integer|nil
--- @param done fun(err: any, result: any)|nil
function M.fork(root, session_id, at_seq, done)
  client.request(
    root,
    "sidecar/sessions/fork",
    { sessionId = session_id, atSeq = at_seq },
    finish("fork", function(err, res)
      if not err and res and res.session then
        client.notify('forked into "' .. format.session_label(res.session) .. '"')
      end
      if done then
        done(err, res)
      end
    end)
  )
end

--- Rename a session.
function M.rename(root, session_id, name, done)
  client.request(root, "sidecar/sessions/rename", { sessionId = session_id, name = name }, finish("rename", done))
end

--- End a session (it stays in history).
function M.end_session(root, session_id, done)
  client.request(root, "sidecar/sessions/end", { sessionId = session_id }, finish("end", done))
end

--- Delete a session and its events for good.
function M.delete(root, session_id, done)
  client.request(
    root,
    "sidecar/sessions/delete",
    { sessionId = session_id, confirm = true },
    finish("delete", done)
  )
end

--- The export format a file name asks for: JSONL for `.jsonl`/`.json`, else Markdown.
--- @param path string
--- @return string
function M.export_format(path)
  if path:match("%.jsonl?$") then
    return "jsonl"
  end
  return "markdown"
end

--- Export a session to `path` (written by Neovim, so the path is relative
--- to Neovim's working directory, as the user typed it).
function M.export(root, session_id, path, done)
  local fmt = M.export_format(path)
  client.request(
    root,
    "sidecar/sessions/export",
    { sessionId = session_id, format = fmt },
    finish("export", function(err, res)
      if not err and res and type(res.content) == "string" then
        local full = vim.fn.fnamemodify(vim.fn.expand(path), ":p")
        -- writefile() ends every line with a newline: drop the content's last one.
        local text = res.content:gsub("\n$", "")
        local ok, werr = pcall(vim.fn.writefile, vim.split(text, "\n", { plain = true }), full)
        if ok and werr == 0 then
          client.notify("exported to " .. full)
        else
          client.notify("could not write " .. full .. ": " .. tostring(werr), vim.log.levels.ERROR)
          err = { message = "write failed" }
        end
      end
      if done then
        done(err, res)
      end
    end)
  )
end

--- Create a named checkpoint (event seq + HEAD + working tree snapshot).
function M.checkpoint(root, session_id, name, done)
  client.request(
    root,
    "sidecar/checkpoints/create",
    { sessionId = session_id, name = name },
    finish("checkpoint", function(err, res)
      if not err and res and res.checkpoint then
        client.notify('checkpoint "' .. (res.checkpoint.name or name) .. '" created')
      end
      if done then
        done(err, res)
      end
    end)
  )
end

return M

--- Pure formatting functions: sessions in, lines out.
---
--- Nothing here touches buffers, windows, the LSP client or the clock: every
--- function takes plain data (the server's JSON, decoded) and returns plain
--- data, so the panel, the transcript and the statusline can be tested with
--- `nvim -l` alone.
local M = {}

--- Scopes in the order `s` cycles through them in the panel.
M.scopes = { "branch", "worktree", "repository", "all" }

--- The scope after `scope` in the cycle (wraps around).
--- @param scope string
--- @return string
function M.next_scope(scope)
  for i, s in ipairs(M.scopes) do
    if s == scope then
      return M.scopes[(i % #M.scopes) + 1]
    end
  end
  return M.scopes[1]
end

--- Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
--- days_from_civil), so timestamps convert to epoch seconds without relying
--- on the local time zone that os.time() assumes.
local function days_from_civil(y, m, d)
  if m <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Epoch seconds of an ISO 8601 timestamp as the server sends it
--- (`2025-01-02T03:04:05.678+00:00`, `...Z`, or with another offset).
--- @param iso string|nil
--- @return number|nil
function M.parse_time(iso)
  if type(iso) ~= "string" then
    return nil
  end
  local y, mo, d, h, mi, s, rest = iso:match("^(%d+)-(%d+)-(%d+)[T ](%d+):(%d+):(%d+)(.*)$")
  if not y then
    return nil
  end
  local frac = rest:match("^%.(%d+)") or ""
  local tz = rest:sub(#frac + (frac ~= "" and 2 or 1))
  local offset = 0
  local sign, oh, om = tz:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  local days = days_from_civil(tonumber(y), tonumber(mo), tonumber(d))
  local secs = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  if frac ~= "" then
    secs = secs + tonumber("0." .. frac)
  end
  return secs - offset
end

--- A short age such as `now`, `42s`, `5m`, `3h`, `2d`, `7w`.
--- @param iso string|nil
--- @param now number epoch seconds
--- @return string
function M.age(iso, now)
  local t = M.parse_time(iso)
  if not t then
    return "-"
  end
  local delta = math.max(0, now - t)
  if delta < 5 then
    return "now"
  elseif delta < 60 then
    return string.format("%ds", math.floor(delta))
  elseif delta < 3600 then
    return string.format("%dm", math.floor(delta / 60))
  elseif delta < 86400 then
    return string.format("%dh", math.floor(delta / 3600))
  elseif delta < 86400 * 14 then
    return string.format("%dd", math.floor(delta / 86400))
  end
  return string.format("%dw", math.floor(delta / (86400 * 7)))
end

--- The time a session last did anything (last event, else update, else creation).
--- @param session table
--- @return number
function M.activity(session)
  return M.parse_time(session.lastEventAt)
    or M.parse_time(session.updatedAt)
    or M.parse_time(session.createdAt)
    or 0
end

--- Cut `text` to `width` display cells, marking the cut with an ellipsis.
--- @param text string
--- @param width integer
--- @return string
function M.truncate(text, width)
  text = (text or ""):gsub("[\r\n]+", " ")
  if vim.fn.strdisplaywidth(text) <= width then
    return text
  end
  local out = vim.fn.strcharpart(text, 0, math.max(0, width - 1))
  while vim.fn.strdisplaywidth(out) > width - 1 do
    out = vim.fn.strcharpart(out, 0, vim.fn.strchars(out) - 1)
  end
  return out .. "…"
end

--- Pad `text` with spaces to `width` display cells (after truncating it).
local function pad(text, width)
  text = M.truncate(text, width)
  return text .. string.rep(" ", width - vim.fn.strdisplaywidth(text))
end

--- The name shown for a session: its name, else a short id.
--- @param session table
--- @return string
function M.session_label(session)
  if session.name and session.name ~= "" then
    return session.name
  end
  return "session " .. string.sub(session.id or "?", -8)
end

--- Group sessions by branch: the current branch first, then the other
--- branches by their most recent activity; inside a group pinned sessions
--- first, then newest activity first (ties broken by id for stable output).
--- @param sessions table[]
--- @param current_branch string|nil
--- @return { branch: string, sessions: table[] }[]
function M.group_by_branch(sessions, current_branch)
  local groups, by_branch = {}, {}
  for _, s in ipairs(sessions or {}) do
    local branch = (s.boundary and s.boundary.branch) or "(no branch)"
    if not by_branch[branch] then
      by_branch[branch] = { branch = branch, sessions = {}, latest = 0 }
      table.insert(groups, by_branch[branch])
    end
    local g = by_branch[branch]
    table.insert(g.sessions, s)
    g.latest = math.max(g.latest, M.activity(s))
  end
  for _, g in ipairs(groups) do
    table.sort(g.sessions, function(a, b)
      if (a.pinned or false) ~= (b.pinned or false) then
        return a.pinned == true
      end
      local ta, tb = M.activity(a), M.activity(b)
      if ta ~= tb then
        return ta > tb
      end
      return (a.id or "") > (b.id or "")
    end)
  end
  table.sort(groups, function(a, b)
    if (a.branch == current_branch) ~= (b.branch == current_branch) then
      return a.branch == current_branch
    end
    if a.latest ~= b.latest then
      return a.latest > b.latest
    end
    return a.branch < b.branch
  end)
  for _, g in ipairs(groups) do
    g.latest = nil
  end
  return groups
end

--- One panel line for a session: marker, name, status, age, event count.
--- @param session table
--- @param opts { now: number, active_id: string|nil, width: integer|nil }
--- @return string
function M.session_line(session, opts)
  local marker = "  "
  if opts.active_id and session.id == opts.active_id then
    marker = "* "
  elseif session.pinned then
    marker = "+ "
  end
  local count = session.eventCount or 0
  local name_width = math.max(12, (opts.width or 60) - 34)
  return string.format(
    "  %s%s %-8s %5s %5d ev",
    marker,
    pad(M.session_label(session), name_width),
    session.status or "?",
    M.age(session.lastEventAt or session.updatedAt or session.createdAt, opts.now),
    count
  )
end

--- Help lines shown at the top of the panel when `?` is pressed.
M.help_lines = {
  "  <CR> history   r resume   f fork      R rename",
  "  e    end       d delete   x export    c checkpoint",
  "  s    scope     q close    ? help",
}

--- The panel's lines, and which line shows which session.
--- @param sessions table[] the `items` of `sidecar/sessions/list`
--- @param opts { scope: string, current_branch: string|nil, active_id: string|nil, now: number, root: string|nil, width: integer|nil, help: boolean|nil, drift: string|nil, error: string|nil }
--- @return { lines: string[], index: table<integer, string> }
function M.panel(sessions, opts)
  local lines, index = {}, {}
  local title = "Sessions"
  if opts.root then
    title = title .. " - " .. vim.fs.basename(opts.root)
  end
  table.insert(
    lines,
    string.format(
      "%s  [scope: %s]  branch: %s",
      title,
      opts.scope or "branch",
      opts.current_branch or "?"
    )
  )
  if opts.help then
    vim.list_extend(lines, M.help_lines)
  else
    table.insert(lines, "  press ? for help")
  end
  if opts.drift then
    table.insert(lines, "  ! drift: " .. M.truncate(opts.drift, (opts.width or 60) + 20))
  end
  if opts.error then
    table.insert(lines, "  error: " .. opts.error)
  end
  table.insert(lines, "")
  local groups = M.group_by_branch(sessions, opts.current_branch)
  if #groups == 0 then
    table.insert(lines, "  (no sessions in this scope; press s to widen it)")
  end
  for _, g in ipairs(groups) do
    local suffix = g.branch == opts.current_branch and "  (current)" or ""
    table.insert(lines, string.format("%s (%d)%s", g.branch, #g.sessions, suffix))
    for _, s in ipairs(g.sessions) do
      table.insert(lines, M.session_line(s, opts))
      index[#lines] = s.id
    end
  end
  return { lines = lines, index = index }
end

--- The statusline text: branch, session name, and a drift marker.
--- @param state { branch: string|nil, session: table|nil, drift: boolean|nil }|nil
--- @param opts { max_name: integer|nil }|nil
--- @return string
function M.statusline(state, opts)
  if not state or not state.branch then
    return ""
  end
  opts = opts or {}
  local text = state.branch
  if state.session then
    text = text .. " > " .. M.truncate(M.session_label(state.session), opts.max_name or 24)
  end
  if state.drift then
    text = text .. " [drift]"
  end
  return text
end

--- The drift action a `window/showMessageRequest` title stands for.
--- @param title string
--- @return { action: string, remember: boolean|nil }|nil
function M.action_for_title(title)
  if title == "Start fresh" then
    return { action = "fresh" }
  elseif title == "Continue here" then
    return { action = "continue" }
  elseif title == "Don't ask again for this branch" then
    return { action = "continue", remember = true }
  elseif type(title) == "string" and title:match('^Resume ".*"$') then
    return { action = "resume" }
  end
  return nil
end

--- The choices offered for a `sidecar/driftDetected` recommendation (custom
--- prompts), with the same titles and order as the server's native prompt.
--- @param rec table the recommendation
--- @param target_name string|nil the name of `rec.targetSessionId`
--- @return { title: string, action: string, sessionId: string|nil, remember: boolean|nil }[]
function M.drift_choices(rec, target_name)
  local choices = {}
  local resume
  if rec.targetSessionId and (rec.action == "resume" or rec.action == "continue") then
    resume = {
      title = string.format('Resume "%s"', target_name or rec.targetSessionId),
      action = "resume",
      sessionId = rec.targetSessionId,
    }
  end
  if resume and rec.action == "resume" then
    table.insert(choices, resume)
  end
  table.insert(choices, { title = "Start fresh", action = "fresh" })
  if resume and rec.action ~= "resume" then
    table.insert(choices, resume)
  end
  table.insert(choices, { title = "Continue here", action = "continue" })
  table.insert(
    choices,
    { title = "Don't ask again for this branch", action = "continue", remember = true }
  )
  return choices
end

--- The text of an event payload, when it has one obvious text field.
local function payload_text(payload)
  for _, key in ipairs({ "text", "prompt", "message", "content", "summary", "subject" }) do
    if type(payload[key]) == "string" and payload[key] ~= "" then
      return payload[key]
    end
  end
  return nil
end

--- A one-line summary for events that are about a path, a branch or a commit.
local function payload_summary(kind, p)
  if kind == "branch_change" and (p.from or p.to) then
    return string.format("%s -> %s", tostring(p.from or "?"), tostring(p.to or "?"))
  elseif kind == "commit" and p.sha then
    return string.format("%s %s", string.sub(p.sha, 1, 10), p.subject or "")
  elseif p.path then
    return "`" .. tostring(p.path) .. "`"
  elseif kind == "command" and p.command then
    return "`" .. tostring(p.command) .. "`"
  end
  return nil
end

--- Encode a payload as stable, indented JSON for a code block.
local function encode(value)
  local ok, text = pcall(vim.json.encode, value)
  if not ok then
    return tostring(value)
  end
  return text
end

--- The Markdown transcript of a session: a header, then one section per event.
--- @param session table
--- @param events table[]
--- @param opts { checkpoints: table[]|nil, lineage: table[]|nil }|nil
--- @return string[]
function M.transcript(session, events, opts)
  opts = opts or {}
  local b = session.boundary or {}
  local lines = {
    "# " .. M.session_label(session),
    "",
    string.format("- id: `%s`", session.id or "?"),
    string.format("- status: %s, %d events", session.status or "?", session.eventCount or #events),
    string.format("- branch: `%s`", b.branch or "?"),
    string.format("- worktree: `%s`", b.worktree or "?"),
  }
  if b.task then
    table.insert(lines, string.format("- task: %s", b.task))
  end
  if session.parentId then
    table.insert(
      lines,
      string.format("- forked from `%s` at #%s", session.parentId, tostring(session.forkedAtSeq or "?"))
    )
  end
  table.insert(lines, string.format("- created: %s", session.createdAt or "?"))
  for _, cp in ipairs(opts.checkpoints or {}) do
    table.insert(lines, string.format("- checkpoint `%s` at #%d", cp.name or cp.id, cp.seq or 0))
  end
  table.insert(lines, "")
  if #events == 0 then
    table.insert(lines, "_No events yet._")
  end
  for _, ev in ipairs(events) do
    local p = ev.payload or {}
    table.insert(
      lines,
      string.format("## #%d %s (%s) %s", ev.seq or 0, ev.kind or "?", ev.actor or "?", ev.time or "")
    )
    table.insert(lines, "")
    local text = payload_text(p)
    local summary = payload_summary(ev.kind, p)
    if text then
      vim.list_extend(lines, vim.split(text, "\n", { plain = true }))
    elseif summary then
      table.insert(lines, summary)
    elseif next(p) ~= nil then
      table.insert(lines, "```json")
      table.insert(lines, encode(p))
      table.insert(lines, "```")
    end
    table.insert(lines, "")
  end
  return lines
end

return M

--- Pure formatting functions: sessions in, lines out.
---
--- Nothing here touches buffers, windows, the LSP client or the clock: every
--- function takes plain data (the server's JSON, decoded) and returns plain
--- data, so the panel, the history buffer and the statusline can be tested with
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

--- One panel line for a session: markers (`*` active, `+` pinned), name,
--- status, age, event count.
--- @param session table
--- @param opts { now: number, active_id: string|nil, width: integer|nil }
--- @return string
function M.session_line(session, opts)
  local marker = (opts.active_id and session.id == opts.active_id) and "*" or " "
  marker = marker .. (session.pinned and "+" or " ")
  local count = session.eventCount or 0
  local name_width = math.max(12, (opts.width or 60) - 35)
  return string.format(
    "  %s %s %-8s %5s %5d ev",
    marker,
    pad(M.session_label(session), name_width),
    session.status or "?",
    M.age(session.lastEventAt or session.updatedAt or session.createdAt, opts.now),
    count
  )
end

--- The key help shown at the top of the panel when `?` is pressed: the
--- keys in columns, as many as fit in `width`, then how to decide a drift.
--- @param keys { lhs: string, label: string }[] in the order to show them
--- @param width integer
--- @return string[]
function M.key_help(keys, width)
  local key_w, label_w = 0, 0
  for _, k in ipairs(keys) do
    key_w = math.max(key_w, vim.fn.strdisplaywidth(k.lhs))
    label_w = math.max(label_w, vim.fn.strdisplaywidth(k.label))
  end
  local cell = key_w + 1 + label_w + 2
  local per_line = math.max(1, math.floor((width - 2) / cell))
  local out, cells = {}, {}
  local function flush()
    local text = "  "
    for i, c in ipairs(cells) do
      text = text .. (i < #cells and (c .. string.rep(" ", cell - vim.fn.strdisplaywidth(c))) or c)
    end
    table.insert(out, text)
    cells = {}
  end
  for _, k in ipairs(keys) do
    table.insert(cells, k.lhs .. string.rep(" ", key_w - vim.fn.strdisplaywidth(k.lhs)) .. " " .. k.label)
    if #cells == per_line then
      flush()
    end
  end
  if #cells > 0 then
    flush()
  end
  table.insert(out, "  <CR> on the drift line: decide (:SessionsDecide)")
  return out
end

--- The sessions whose name, branch or last prompt contains `text` (case
--- insensitive, plain text); all of them when `text` is nil or empty.
--- @param sessions table[]
--- @param text string|nil
--- @return table[]
function M.filter_sessions(sessions, text)
  if not text or text == "" then
    return sessions or {}
  end
  local needle = text:lower()
  local function has(value)
    return type(value) == "string" and value:lower():find(needle, 1, true) ~= nil
  end
  return vim.tbl_filter(function(s)
    return has(s.name) or has(s.boundary and s.boundary.branch) or has(s.lastPrompt)
  end, sessions or {})
end

--- The branch text of the panel header and the statusline: HEAD's branch,
--- and the active session's when it was recorded on another one.
--- @param head string|nil the worktree's current branch
--- @param session_branch string|nil the active session's branch
--- @return string
function M.branch_label(head, session_branch)
  head = head or "?"
  if session_branch and session_branch ~= head then
    return string.format("%s ≠ session: %s", head, session_branch)
  end
  return head
end

--- The mark before an expanded event row: ✓ ok, ✗ failed, ⊘ denied, · for
--- bookkeeping, else a space.
local function block_mark(block)
  if block.status == "ok" then
    return "✓"
  elseif block.status == "failed" then
    return "✗"
  elseif block.status == "denied" then
    return "⊘"
  elseif block.dimmed then
    return "·"
  end
  return " "
end

--- Where the mark of an expanded event row starts (0-based byte column).
M.row_mark_col = 7

--- One row of an expanded session: the block's mark and title (a turn's
--- text after its title, a failure's exit code after it) and its seq.
--- @param block table a DisplayBlock
--- @param width integer
--- @return string
function M.block_row(block, width)
  local text = block.title or block.kind or "?"
  if block.kind == "turn" and type(block.body) == "string" and block.body ~= "" then
    text = text .. ": " .. M.one_line(block.body)
  end
  if block.status == "failed" and type(block.exitCode) == "number" then
    text = text .. " · exit " .. block.exitCode
  end
  local seq = "#" .. tostring(block.seq or "?")
  local text_width = math.max(8, width - M.row_mark_col - 4 - #seq)
  return string.rep(" ", M.row_mark_col) .. block_mark(block) .. " " .. pad(text, text_width) .. " " .. seq
end

--- How many rows of an expanded session are shown at most (its latest events).
M.expanded_rows = 8

--- The panel's lines about a pending drift decision: the whole summary,
--- wrapped to `width`, and how to answer it.
--- @param summary string
--- @param width integer
--- @return string[]
function M.drift_lines(summary, width)
  local lines = {}
  for i, part in ipairs(M.wrap(summary, width - 12)) do
    table.insert(lines, (i == 1 and "  ! drift: " or "  !        ") .. part)
  end
  table.insert(lines, "  ! <CR> or :SessionsDecide to decide")
  return lines
end

--- The panel's lines when the workspace has no session yet: when one
--- begins, and how to resume one instead; wrapped to `width`.
--- @param width integer
--- @return string[]
function M.no_session_lines(width)
  local lines = {}
  local text = "no session yet: one begins with the first prompt or edit."
    .. " r resumes the session under the cursor, :SessionsResume picks one, :SessionsFresh starts one now."
  for _, part in ipairs(M.wrap(text, width - 4)) do
    table.insert(lines, "  " .. part)
  end
  return lines
end

--- The panel's lines, which line shows which session (and which event of
--- an expanded session), and the highlights of expanded rows.
---
--- `opts.expanded` maps a session id to its latest display blocks (or to
--- `false` while they load); `opts.filter` keeps the sessions whose name,
--- branch or last prompt contain it; `opts.keys` is the key help shown when
--- `opts.help` is set; `opts.no_session` says the workspace has no session
--- yet (a line tells when one begins); `opts.drift` is the pending decision's
--- question.
--- @param sessions table[] the `items` of `sidecar/sessions/list`
--- @param opts { scope: string, current_branch: string|nil, session_branch: string|nil, active_id: string|nil, no_session: boolean|nil, now: number, root: string|nil, width: integer|nil, help: boolean|nil, keys: table[]|nil, drift: string|nil, error: string|nil, filter: string|nil, expanded: table<string, table[]|false>|nil }
--- @return { lines: string[], index: table<integer, string>, rows: table<integer, { id: string, block: table }>, drift: table<integer, true>, highlights: { lnum: integer, group: string, col: integer, end_col: integer }[] }
function M.panel(sessions, opts)
  local lines, index, rows, drift, highlights = {}, {}, {}, {}, {}
  local width = opts.width or 60
  local title = "Sessions"
  if opts.root then
    title = title .. " - " .. vim.fs.basename(opts.root)
  end
  local header = string.format(
    "%s  [scope: %s]  branch: %s",
    title,
    opts.scope or "branch",
    M.branch_label(opts.current_branch, opts.session_branch)
  )
  if opts.filter and opts.filter ~= "" then
    header = header .. string.format("  [filter: %s]", opts.filter)
  end
  table.insert(lines, header)
  for _, line in ipairs(opts.help and M.key_help(opts.keys or {}, width) or { "  press ? for help" }) do
    table.insert(lines, line)
    table.insert(highlights, { lnum = #lines, group = "SessionSidecarHelp", col = 0, end_col = -1 })
  end
  if opts.drift then
    for _, line in ipairs(M.drift_lines(opts.drift, width)) do
      table.insert(lines, line)
      drift[#lines] = true
    end
  end
  if opts.no_session then
    vim.list_extend(lines, M.no_session_lines(width))
  end
  if opts.error then
    for i, part in ipairs(vim.split(opts.error, "\n", { plain = true })) do
      table.insert(lines, (i == 1 and "  error: " or "         ") .. part)
    end
  end
  table.insert(lines, "")
  local groups = M.group_by_branch(M.filter_sessions(sessions, opts.filter), opts.current_branch)
  if #groups == 0 then
    if opts.filter and opts.filter ~= "" and #(sessions or {}) > 0 then
      table.insert(
        lines,
        string.format('  (no session matches "%s"; / changes the filter, <Esc> clears it)', opts.filter)
      )
    else
      table.insert(lines, "  (no sessions in this scope; press s to widen it)")
    end
  end
  local function dim(lnum)
    table.insert(highlights, { lnum = lnum, group = "SessionSidecarDimmed", col = 0, end_col = -1 })
  end
  local expanded = opts.expanded or {}
  for _, g in ipairs(groups) do
    local suffix = g.branch == opts.current_branch and "  (current)" or ""
    table.insert(lines, string.format("%s (%d)%s", g.branch, #g.sessions, suffix))
    for _, s in ipairs(g.sessions) do
      table.insert(lines, M.session_line(s, opts))
      index[#lines] = s.id
      local blocks = expanded[s.id]
      local pad_row = string.rep(" ", M.row_mark_col + 2)
      if blocks == false then
        table.insert(lines, pad_row .. "loading…")
        index[#lines] = s.id
        dim(#lines)
      elseif blocks then
        local first = math.max(1, #blocks - M.expanded_rows + 1)
        local earlier = blocks[first] and ((blocks[first].seq or 1) - 1) or 0
        if earlier > 0 then
          table.insert(lines, string.format("%s… %d earlier events (<CR>: the whole history)", pad_row, earlier))
          index[#lines] = s.id
          dim(#lines)
        end
        if #blocks == 0 then
          table.insert(lines, pad_row .. "(no events yet)")
          index[#lines] = s.id
          dim(#lines)
        end
        for i = first, #blocks do
          local block = blocks[i]
          table.insert(lines, M.block_row(block, width))
          index[#lines] = s.id
          rows[#lines] = { id = s.id, block = block }
          local col = M.row_mark_col
          if block.dimmed then
            dim(#lines)
          elseif block.status == "failed" or block.status == "denied" then
            table.insert(highlights, { lnum = #lines, group = "SessionSidecarFailed", col = col, end_col = col + 3 })
          elseif block.status == "ok" then
            table.insert(highlights, { lnum = #lines, group = "SessionSidecarOk", col = col, end_col = col + 3 })
          end
        end
      end
    end
  end
  return { lines = lines, index = index, rows = rows, drift = drift, highlights = highlights }
end

--- The statusline text: HEAD's branch (and the active session's, when it
--- was recorded on another one), the session's name (`no session` before the
--- first prompt or edit begins one), a drift marker.
--- @param state { branch: string|nil, session: table|nil, drift: boolean|nil }|nil
--- @param opts { max_name: integer|nil }|nil
--- @return string
function M.statusline(state, opts)
  if not state or not state.branch then
    return ""
  end
  opts = opts or {}
  local session_branch = state.session and state.session.boundary and state.session.boundary.branch or nil
  local text = M.branch_label(state.branch, session_branch)
  if state.session then
    text = text .. " > " .. M.truncate(M.session_label(state.session), opts.max_name or 24)
  else
    text = text .. " · no session"
  end
  if state.drift then
    text = text .. " [drift]"
  end
  return text
end

--- The text of a decision choice in a picker: the server's label, the
--- recommended one marked.
--- @param option table a DecisionOption (`label`, `title`, `recommended`)
--- @return string
function M.choice_item(option)
  local text = M.one_line(option.label or option.title or "?")
  if option.recommended then
    text = text .. " (recommended)"
  end
  return text
end

--- The question a decision asks (the server's words), for a prompt.
--- @param rec table the recommendation
--- @return string
function M.decision_question(rec)
  for _, text in ipairs({ rec.question, rec.summary }) do
    if type(text) == "string" and text ~= "" then
      return M.one_line(text)
    end
  end
  return "the session boundary changed"
end

--- The choices of a native prompt (`window/showMessageRequest` actions, by
--- title) as the server's DecisionOptions, in the prompt's order: each
--- action matched to the choice of `rec` with its title; an action no
--- choice has (an older server) stays itself, shown by its title.
--- @param actions { title: string }[]
--- @param rec table|nil the pending recommendation (its `choices`)
--- @return table[] items, each with `title` (what the server must get back)
function M.native_items(actions, rec)
  local by_title = {}
  for _, option in ipairs(type(rec) == "table" and type(rec.choices) == "table" and rec.choices or {}) do
    by_title[option.title] = option
  end
  return vim.tbl_map(function(action)
    return by_title[action.title] or action
  end, actions)
end

--- `text` on one line: every run of white space (new lines too) as one space.
--- @param text string|nil
--- @return string
function M.one_line(text)
  return vim.trim(((text or ""):gsub("%s+", " ")))
end

--- Split `text` into lines of at most `width` display cells, at spaces where
--- it can (a word longer than a line is cut).
--- @param text string
--- @param width integer
--- @return string[]
function M.wrap(text, width)
  width = math.max(8, width)
  local lines, current = {}, ""
  for word in M.one_line(text):gmatch("%S+") do
    while vim.fn.strdisplaywidth(word) > width do
      if current ~= "" then
        table.insert(lines, current)
        current = ""
      end
      local head = vim.fn.strcharpart(word, 0, width)
      while vim.fn.strdisplaywidth(head) > width do
        head = vim.fn.strcharpart(head, 0, vim.fn.strchars(head) - 1)
      end
      table.insert(lines, head)
      word = vim.fn.strcharpart(word, vim.fn.strchars(head))
    end
    if current == "" then
      current = word
    elseif vim.fn.strdisplaywidth(current) + 1 + vim.fn.strdisplaywidth(word) <= width then
      current = current .. " " .. word
    else
      table.insert(lines, current)
      current = word
    end
  end
  if current ~= "" or #lines == 0 then
    table.insert(lines, current)
  end
  return lines
end

--- The name of a session's history buffer: readable, and unique because it
--- ends with the last 8 characters of the id (the random part of the ULID;
--- the first ones are a timestamp that sessions made together share).
--- @param session table
--- @return string
function M.history_name(session)
  return string.format("sidecar://history/%s (%s)", M.session_label(session), string.sub(session.id or "?", -8))
end

--- The history buffer of a session: a header (name, id, status, branch,
--- worktree, lineage, checkpoints), then each display block's Markdown as
--- the server renders it (`sidecar/sessions/render` with `markdown = true`,
--- the same text the Markdown export holds), a blank line between blocks.
--- `lines_by_seq` maps every event seq a block shows to the block's first
--- line, so a search hit or a checkpoint can be jumped to.
--- @param session table
--- @param blocks table[] DisplayBlock items, in order
--- @param opts { checkpoints: table[]|nil, cut: integer|nil }|nil cut: events shown when the history was cut short
--- @return { lines: string[], lines_by_seq: table<integer, integer> }
function M.history(session, blocks, opts)
  opts = opts or {}
  local b = session.boundary or {}
  local lines = {
    "# " .. M.session_label(session),
    "",
    string.format("- id: `%s`", session.id or "?"),
    string.format("- status: %s, %d events", session.status or "?", session.eventCount or 0),
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
  local by_seq = {}
  if #blocks == 0 then
    table.insert(lines, "_No events yet._")
  end
  for i, block in ipairs(blocks) do
    if i > 1 then
      table.insert(lines, "")
    end
    local first = #lines + 1
    local text = block.markdown
    if type(text) ~= "string" or text == "" then
      -- A server without markdown blocks: at least the title line.
      text = string.format("**%s** · #%d", block.title or block.kind or "?", block.seq or 0)
    end
    vim.list_extend(lines, vim.split(text, "\r?\n"))
    for _, seq in ipairs(block.seqs or { block.seq }) do
      by_seq[seq] = by_seq[seq] or first
    end
  end
  if opts.cut then
    table.insert(lines, "")
    table.insert(
      lines,
      string.format("_Only the first %d events are shown; export the session (x in :Sessions) to read it all._", opts.cut)
    )
  end
  return { lines = lines, lines_by_seq = by_seq }
end

--- The line of the block that shows event `seq`: its own block, else the
--- last block that starts before it (nil when no block does).
--- @param lines_by_seq table<integer, integer>
--- @param seq integer
--- @return integer|nil
function M.line_of_seq(lines_by_seq, seq)
  if lines_by_seq[seq] then
    return lines_by_seq[seq]
  end
  local best_seq, best_line
  for s, lnum in pairs(lines_by_seq) do
    if s < seq and (not best_seq or s > best_seq) then
      best_seq, best_line = s, lnum
    end
  end
  return best_line
end

--- One `sidecar/sessions/search` hit as a picker line: session name, event
--- kind, the snippet (matches in `[` `]`) and how long ago.
--- @param hit table SearchHit
--- @param now number epoch seconds
--- @return string
function M.search_item(hit, now)
  local age = M.age(hit.time, now)
  return string.format(
    "%s · %s · %s · %s",
    hit.sessionName ~= "" and hit.sessionName or ("session " .. string.sub(hit.sessionId or "?", -8)),
    hit.kind or "?",
    M.truncate(M.one_line(hit.snippet), 100),
    age == "now" and "now" or (age .. " ago")
  )
end

return M

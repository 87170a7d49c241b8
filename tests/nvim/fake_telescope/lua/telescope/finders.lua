-- FAKE telescope.finders (see fake_telescope/lua/telescope/init.lua):
-- new_table({ results, entry_maker }) keeps both for the test to call.
local finders = {}

function finders.new_table(t)
  return { kind = "new_table", results = t.results, entry_maker = t.entry_maker }
end

return finders

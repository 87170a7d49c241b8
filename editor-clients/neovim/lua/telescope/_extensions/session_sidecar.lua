--- The Telescope extension: `:Telescope session_sidecar` (or
--- `:Telescope session_sidecar search query=<text>`) searches the current
--- repository's session history, as :SessionsSearch does with Telescope.
--- Load it with `require("telescope").load_extension("session_sidecar")`.
local search = function(opts)
  require("session_sidecar.telescope").search(opts)
end

return require("telescope").register_extension({
  exports = {
    search = search,
    session_sidecar = search,
  },
})

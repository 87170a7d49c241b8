" Syntax for the Session Sidecar panel (filetype sessionsidecar). The key
" help and the rows of expanded sessions are highlighted by the plugin
" (extmarks: SessionSidecarHelp, SessionSidecarDimmed, SessionSidecarOk,
" SessionSidecarFailed).
if exists('b:current_syntax')
  finish
endif

syntax match sessionsidecarTitle /\%1l.*/
syntax match sessionsidecarBranch /^\S.*$/
syntax match sessionsidecarActive /^  \*.*$/ contains=sessionsidecarPinned
syntax match sessionsidecarPinned /\%(^  .\)\@<=+/
syntax match sessionsidecarDrift /^  ! .*$/
syntax match sessionsidecarError /^  error:.*$/
syntax keyword sessionsidecarEnded ended archived
syntax keyword sessionsidecarIdle idle

highlight default link sessionsidecarTitle Title
highlight default link sessionsidecarBranch Directory
highlight default link sessionsidecarActive Statement
highlight default link sessionsidecarPinned Special
highlight default link sessionsidecarDrift WarningMsg
highlight default link sessionsidecarError ErrorMsg
highlight default link sessionsidecarEnded Comment
highlight default link sessionsidecarIdle Comment

let b:current_syntax = 'sessionsidecar'

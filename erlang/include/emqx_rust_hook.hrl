%% What each registered callback knows about its hook; passed as the extra argument of
%% the `{emqx_rust_hook_handler, Fun, [#hook{}]}' action.
-record(hook, {
    name :: atom(),                  % the hookpoint, e.g. 'client.authenticate'
    mode = inline :: inline | pool | queue,
    failed_action = ignore :: ignore | deny,
    topics = [] :: [binary()],       % message hooks: run only for matching topics
    sys = false :: boolean(),        % message hooks: let $SYS/... messages through
    timeout = 5000 :: non_neg_integer()
}).

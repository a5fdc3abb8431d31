%% @doc The failure log's rate limit (emqx_rust_hook_logger:failure/4) runs in the hook's
%% caller, so it must never raise: an exception there would escape the hook callback, and
%% EMQX would skip the failure policy the callback is applying.
-module(rust_hook_logger_tests).

-include_lib("eunit/include/eunit.hrl").

-define(TAB, emqx_rust_hook_failures).

%% The plugin, if a test before left it running, owns the table: stopped first, so that
%% these tests do not depend on the order of the modules.
logger_test_() ->
    {setup, fun() -> _ = application:stop(emqx_rust_hook), ok end,
     [fun no_table/0, fun failing_update/0, fun counts_within_a_second/0]}.

%% The table of a stopped plugin: absent.
no_table() ->
    undefined = ets:info(?TAB),
    ?assertEqual(ok, emqx_rust_hook_logger:failure('client.authenticate', panic, <<"m">>, deny)).

%% A table operation that fails after the lookup succeeded (as when the table goes between
%% the two): here the counter the update expects is not a number.
failing_update() ->
    Tab = ets:new(?TAB, [named_table, public, set]),
    try
        Now = erlang:monotonic_time(second),
        true = ets:insert(Tab, {{'client.authenticate', panic}, Now, not_a_counter}),
        ?assertEqual(ok,
                     emqx_rust_hook_logger:failure('client.authenticate', panic, <<"m">>, deny))
    after
        ets:delete(Tab)
    end.

%% The limit itself: within one second the first failure is logged and the next ones are
%% counted, not logged.
counts_within_a_second() ->
    Tab = ets:new(?TAB, [named_table, public, set]),
    try
        Key = {'client.check_acl', decode},
        ok = emqx_rust_hook_logger:failure('client.check_acl', decode, <<"m">>, ignore),
        [{Key, Second, 0}] = ets:lookup(Tab, Key),
        ok = emqx_rust_hook_logger:failure('client.check_acl', decode, <<"m">>, ignore),
        case ets:lookup(Tab, Key) of
            [{Key, Second, Skipped}] -> ?assertEqual(1, Skipped);
            [{Key, _Later, 0}] -> ok % the second changed between the two calls
        end
    after
        ets:delete(Tab)
    end.

%% Smoke test: the EMQX 4.2.14 test double starts, stops and restarts.
-module(host_smoke_tests).

-include_lib("eunit/include/eunit.hrl").

smoke_test() ->
    emqx_double:stop(),
    ?assertEqual(undefined, whereis(emqx_hooks)),
    ok = emqx_double:start(),
    ok = emqx_double:start(),                       %% idempotent
    ?assert(is_pid(whereis(emqx_hooks))),
    ?assertEqual("4.2.14", emqx_sys:version()),
    ok = emqx:hook('client.connect', fun(_, Props) -> {ok, Props#{seen => true}} end),
    ?assertEqual(#{seen => true}, emqx:run_fold_hook('client.connect', [#{}], #{})),
    emqx_double:stop(),
    ?assertEqual(undefined, ets:info(emqx_hooks, name)).

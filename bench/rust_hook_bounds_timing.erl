%% @doc How long a hook call holds its caller for oversized arguments (issue 7), with
%% the real plugin and native/test_hooks on the stand-in host. Not a test: prints
%% numbers. Run after `make build`:
%%   erlc -o _build/bench bench/rust_hook_bounds_timing.erl
%%   erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests _build/bench \
%%       -eval 'rust_hook_bounds_timing:main(), halt().'
-module(rust_hook_bounds_timing).

-export([main/0, per_call/0]).

ci(Id) ->
    #{clientid => Id, username => <<"u">>, password => undefined, peerhost => {127, 0, 0, 1},
      protocol => mqtt, zone => external, sockport => 1883, is_bridge => false,
      is_superuser => false, mountpoint => undefined}.

conninfo(Id) ->
    #{clientid => Id, username => <<"u">>, proto_name => <<"MQTT">>, proto_ver => 5,
      peername => {{127, 0, 0, 1}, 50000}, sockname => {{127, 0, 0, 1}, 1883},
      clean_start => true, keepalive => 60, connected_at => 1}.

deep_tuple(N) -> lists:foldl(fun(_, Acc) -> {Acc} end, leaf, lists:seq(1, N)).
deep_list(N) -> lists:foldl(fun(_, Acc) -> [Acc] end, <<"x">>, lists:seq(1, N)).

%% The median of 5 runs of Fun, in microseconds.
us(Fun) ->
    Ts = lists:sort([element(1, timer:tc(Fun)) || _ <- lists:seq(1, 5)]),
    lists:nth(3, Ts).

main() ->
    ok = rust_hook_test_util:start("test_hooks", []),
    logger:set_primary_config(level, emergency),
    Filters = [{<<"t/", (integer_to_binary(I))/binary>>, #{qos => 0, rh => 0, rap => 0, nl => 0}}
               || I <- lists:seq(1, 100000)],
    Sub = us(fun() -> emqx_hooks:run_fold('client.subscribe', [ci(<<"s">>), #{}], Filters) end),
    Msg = {message, <<1:128>>, 1, <<"pub">>, #{}, #{}, <<"t/x">>, deep_list(100000), 1},
    Del = us(fun() -> emqx_hooks:run_fold('message.delivered', [ci(<<"d">>)], Msg) end),
    Junk = deep_tuple(1000000),
    Conn = us(fun() -> emqx_hooks:run('client.connected', [ci(<<"c">>), (conninfo(<<"c">>))#{junk => Junk}]) end),
    N = 100000,
    CI = ci(<<"n">>), Info = conninfo(<<"n">>),
    {Normal, _} = timer:tc(fun() -> [emqx_rust_hook_nif:client_connected(queue, CI, Info) || _ <- lists:seq(1, N)] end),
    io:format("client.subscribe, 100,000 filters (pool):         ~10.3f ms~n", [Sub / 1000]),
    io:format("message.delivered, 100,000-deep payload (pool):   ~10.3f ms~n", [Del / 1000]),
    io:format("client.connected, 1,000,000-deep conninfo value:  ~10.3f ms~n", [Conn / 1000]),
    io:format("client_connected NIF, usual terms (queue), per call: ~7.2f us~n", [Normal / N]),
    rust_hook_test_util:stop().

%% @doc The caller's cost of one queued notification with the usual terms (the copy
%% and the bound check), with native/slow_hooks on one notification worker: the best of
%% 10 runs of 20,000 calls.
per_call() ->
    ok = rust_hook_test_util:start("slow_hooks", ["exhook.drivers.rust.notify_queue_size = 1000000",
                                                  "exhook.drivers.rust.pool_size = 1",
                                                  "exhook.drivers.rust.init.notify_sleep_us = 0"]),
    CI = ci(<<"n">>), Info = conninfo(<<"n">>),
    N = 20000,
    Best = lists:min([element(1, timer:tc(fun() ->
                                                  [emqx_rust_hook_nif:client_connected(queue, CI, Info)
                                                   || _ <- lists:seq(1, N)]
                                          end)) || _ <- lists:seq(1, 10)]),
    io:format("client_connected NIF (queue), usual terms, per call: ~7.3f us~n", [Best / N]),
    halt(0).

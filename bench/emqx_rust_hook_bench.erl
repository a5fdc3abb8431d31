%% @doc `make bench': every execution mode side by side with a pure-Erlang hook, in one
%% BEAM run.
%%
%% Each case calls the stand-in host's hook runner (`emqx_hooks:run_fold/3' for the fold
%% hooks, `emqx_hooks:run/2' for the notification) with the real terms captured from
%% EMQX 4.2.14 (the `alice' publisher), in one of these modes:
%%
%% - `none': no hook registered (the runner's own cost: the baseline);
%% - `erlang': a pure-Erlang hook making the same decision, registered on the same host
%%   the same way as the plugin registers its callbacks (`{M, F, [Extra]}', priority 0);
%% - `rust_<mode>': the real plugin with a bench library (native/bench_hooks); the mode is
%%   the one the plugin registered for the hook: `inline', `pool', `queue'.
%%
%% Every decision-making mode decides the same from the same input: allow unless the
%% username is empty; for `message.publish', continue unless the topic starts with
%% `deny/'. `check/2' proves it before timing (allow and deny paths, every mode).
%%
%% Each call is timed with `erlang:monotonic_time(nanosecond)' (mean, p50, p99); nothing
%% is subtracted. Then as many callers as schedulers run each case at once (calls/s).
%% The table goes to stdout and the results to bench/results.json; a breakdown of the
%% inline path (stdout only) follows.
-module(emqx_rust_hook_bench).

-include("emqx_rust_hook.hrl").

-export([main/0, main/1]).
%% The pure-Erlang hooks of the `erlang' mode, and the callbacks of `rust_dirty_io'.
-export([erl_authenticate/3, erl_check_acl/5, erl_publish/2, erl_connected/3]).
-export([dirty_authenticate/3, dirty_check_acl/5, dirty_publish/2, dirty_connected/3]).
%% For runs by hand.
-export([inputs/0, modes/0, measure/4, throughput/5, breakdown/2, cpu_per_call/2]).

-define(DEFAULT_N, 50000).
-define(WARMUP, 5000).
-define(HOOKS, ['client.authenticate', 'client.check_acl', 'message.publish',
                'client.connected']).
-define(FOLD_HOOKS, ['client.authenticate', 'client.check_acl', 'message.publish']).

%%--------------------------------------------------------------------------------------
%% The modes, in table order. Adding a mode is one line here. `{rust, Lib}' loads the
%% real plugin with a library built under target/release; each of its hooks is labelled
%% `rust_<mode>' after the mode the plugin registered for it, and a hook the library
%% does not implement is left out. `{rust_dirty_io, Lib}' loads the plugin the same way,
%% then swaps its callbacks for ones that run the call on a dirty I/O scheduler through
%% `emqx_rust_hook_nif:call_dirty_io/2' (not an SDK mode: the alternative to the pool
%% that the SDK did not take, measured here for comparison).

modes() ->
    [none,
     erlang,
     {rust, "libbench_hooks.so"},                    % every hook #[hook(inline)]
     {rust, "examples/libbench_hooks_pool.so"},      % #[hook(pool)], notification queued
     {rust, "examples/libbench_hooks_async.so"},     % every hook an async fn, ready at once
     {rust_dirty_io, "libbench_hooks.so"}            % the inline library on a dirty I/O
                                                     % scheduler (call_dirty_io/2)
    ].

%%--------------------------------------------------------------------------------------
%% Entry point

%% @doc Runs every case with the default number of calls (or $BENCH_N) and writes
%% bench/results.json.
main() ->
    N = case os:getenv("BENCH_N") of
            false -> ?DEFAULT_N;
            S -> list_to_integer(S)
        end,
    main(#{n => N, out => "bench/results.json"}).

main(#{n := N, out := Out}) ->
    ok = emqx_double:start(),
    %% The plugin's start/stop notices (application reports) would cut through the table.
    ok = logger:set_primary_config(level, warning),
    Inputs = inputs(),
    Scheds = erlang:system_info(schedulers_online),
    io:format("emqx_rust_hook bench: ~ts, OTP ~ts, ~b schedulers, ~b calls per case "
              "(after ~b warm-up calls)~n~n",
              [machine(), otp(), Scheds, N, ?WARMUP]),
    Timer = timer_cost(),
    io:format("timing adds ~b ns to each per-call time (T1 - T0 with nothing between); "
              "it is not subtracted~n~n", [round(Timer)]),
    Runs = [run_mode(Mode, Inputs, N, Scheds) || Mode <- modes()],
    Results = lists:append([R || {R, _} <- Runs]),
    print_table(Results),
    print_targets(Results),
    ok = write_json(Out, Results),
    io:format("~nwrote ~ts~n", [Out]),
    case lists:append([B || {_, B} <- Runs]) of
        [] -> ok;
        Breakdown -> print_breakdown(Breakdown)
    end,
    cpu_per_call(["examples/libbench_hooks_pool.so", "examples/libbench_hooks_async.so"], N),
    blocking_vs_file_io(),
    ok.

%%--------------------------------------------------------------------------------------
%% CPU per call: what a pool-mode (or async) client.authenticate costs the machine, not
%% only the caller's wait. From /proc/self/task/*/stat (utime + stime, 10 ms ticks) over
%% N calls: the whole VM (its schedulers, which busy-wait a little when idle, included)
%% and the SDK's own threads (`rh_*': the pool's workers, the async runtime).

%% @doc Prints CPU per call of Libs (under target/release), 1 and 2 callers.
cpu_per_call(Libs, N) ->
    io:format("~nCPU per client.authenticate call (N = ~b per caller):~n", [N]),
    io:format("  ~-36s ~8s ~12s ~14s ~16s~n",
              ["library", "callers", "wall ns", "VM CPU ns", "rh_* CPU ns"]),
    #{'client.authenticate' := {fold, Args, Acc}} = inputs(),
    [begin
         Path = filename:join(emqx_double:repo_path("target/release"), Lib),
         case filelib:is_regular(Path) of
             false -> io:format("  ~-36s not built~n", [Lib]);
             true ->
                 ok = rust_hook_test_util:start({path, Path}, []),
                 try
                     [cpu_case(Lib, Args, Acc, N, C) || C <- [1, 2]]
                 after
                     rust_hook_test_util:stop()
                 end
         end
     end || Lib <- Libs],
    ok.

cpu_case(Lib, Args, Acc, N, Callers) ->
    auth_loop(?WARMUP, Args, Acc),
    {T0, A0, W0} = {erlang:monotonic_time(nanosecond), cpu_ticks(all), cpu_ticks(sdk)},
    Self = self(),
    Pids = [spawn_link(fun() -> auth_loop(N, Args, Acc), Self ! {cpu_done, self()} end)
            || _ <- lists:seq(1, Callers)],
    [receive {cpu_done, P} -> ok end || P <- Pids],
    {T1, A1, W1} = {erlang:monotonic_time(nanosecond), cpu_ticks(all), cpu_ticks(sdk)},
    Calls = N * Callers,
    io:format("  ~-36s ~8b ~12b ~14b ~16b~n",
              [Lib, Callers, round((T1 - T0) / Calls), round((A1 - A0) * 1.0e7 / Calls),
               round((W1 - W0) * 1.0e7 / Calls)]).

auth_loop(0, _, _) -> ok;
auth_loop(N, Args, Acc) ->
    _ = emqx_hooks:run_fold('client.authenticate', Args, Acc),
    auth_loop(N - 1, Args, Acc).

%% utime + stime (clock ticks) of every thread of the VM, or of the SDK's (`rh_*').
cpu_ticks(Which) ->
    {ok, Tasks} = file:list_dir("/proc/self/task"),
    lists:sum([task_ticks(T) || T <- Tasks, Which =:= all orelse sdk_task(T)]).

sdk_task(T) ->
    case file:read_file("/proc/self/task/" ++ T ++ "/comm") of
        {ok, <<"rh_", _/binary>>} -> true;
        _ -> false
    end.

task_ticks(T) ->
    case file:read_file("/proc/self/task/" ++ T ++ "/stat") of
        {ok, Bin} ->
            [_, Rest] = binary:split(Bin, <<") ">>),
            F = binary:split(Rest, <<" ">>, [global]),
            binary_to_integer(lists:nth(12, F)) + binary_to_integer(lists:nth(13, F));
        _ -> 0
    end.

%%--------------------------------------------------------------------------------------
%% Why the pool and not the dirty I/O schedulers: 200 concurrent hooks that block 50 ms
%% (native/slow_hooks), run on a pool of 10 workers and on the VM's 10 dirty I/O
%% schedulers, while another process reads a small file every 5 ms.

blocking_vs_file_io() ->
    Path = filename:join(emqx_double:repo_path("target/release"), "libslow_hooks.so"),
    ok = rust_hook_test_util:start({path, Path}, ["exhook.drivers.rust.init.sleep_ms = 50",
                                                  "exhook.drivers.rust.pool_size = 10",
                                                  "exhook.drivers.rust.call_timeout = 60s"]),
    try
        File = filename:join("/tmp", "emqx_rust_hook_bench_probe.bin"),
        ok = file:write_file(File, crypto:strong_rand_bytes(4096)),
        CI = #{clientid => <<"bench">>, username => <<"slow">>},
        Acc = #{auth_result => success, anonymous => true},
        io:format("~nblocking hooks and the node's file I/O (200 concurrent calls that block 50 ms; "
                  "file:read_file of 4 KiB every 5 ms meanwhile):~n"),
        io:format("  ~-34s ~10s ~12s ~12s ~8s~n", ["path", "wall ms", "read p50 us", "read max us", "reads"]),
        [file_io_case(Label, Call, File) || {Label, Call} <-
            [{"pool (10 workers)", fun() -> emqx_hooks:run_fold('client.authenticate', [CI], Acc) end},
             {"dirty I/O schedulers (10)", fun() -> emqx_rust_hook_nif:call_dirty_io('client.authenticate', [CI, Acc]) end}]],
        ok
    after
        rust_hook_test_util:stop()
    end.

file_io_case(Label, Call, File) ->
    Self = self(),
    Reader = spawn(fun() -> read_loop(Self, File, []) end),
    T0 = erlang:monotonic_time(millisecond),
    Callers = [spawn(fun() -> _ = Call(), Self ! {done, self()} end) || _ <- lists:seq(1, 200)],
    [receive {done, P} -> ok end || P <- Callers],
    Wall = erlang:monotonic_time(millisecond) - T0,
    Reader ! stop,
    Reads = receive {reads, R} -> lists:sort(R) end,
    io:format("  ~-34s ~10b ~12b ~12b ~8b~n",
              [Label, Wall, lists:nth(length(Reads) div 2 + 1, Reads), lists:last(Reads), length(Reads)]).

read_loop(Parent, File, Acc) ->
    receive stop -> Parent ! {reads, Acc}
    after 5 ->
        {Us, {ok, _}} = timer:tc(fun() -> file:read_file(File) end),
        read_loop(Parent, File, [Us | Acc])
    end.

run_mode(How, Inputs, N, Scheds) ->
    setup(How),
    try
        Hooks = [{H, label(How, H)}
                 || H <- ?HOOKS, How =:= none orelse emqx_hooks:lookup(H) =/= []],
        [ok = check(Label, H) || {H, Label} <- Hooks],
        Single = [measure(Label, H, maps:get(H, Inputs), N) || {H, Label} <- Hooks],
        Multi = [throughput(Label, H, maps:get(H, Inputs), N, Scheds) || {H, Label} <- Hooks],
        Breakdown = case [H || {H, <<"rust_inline">>} <- Hooks] of
                        [] -> [];
                        Inline -> breakdown(Inline, N)
                    end,
        {Single ++ Multi, Breakdown}
    after
        teardown(How)
    end.

label(none, _Hook) -> <<"none">>;
label(erlang, _Hook) -> <<"erlang">>;
label({rust_dirty_io, _Lib}, _Hook) -> <<"rust_dirty_io">>;
label({rust, _Lib}, Hook) ->
    #hook{mode = Mode} = registered(Hook),
    <<"rust_", (atom_to_binary(Mode))/binary>>.

%% The #hook{} the plugin registered for Hook.
registered(Hook) ->
    #{hooks := Hooks} = emqx_rust_hook_driver:info(),
    lists:keyfind(Hook, #hook.name, Hooks).

%% What the timing adds to each per-call time: the mean of T1 - T0 with nothing between
%% the two timer reads (about the cost of one erlang:monotonic_time/1 call).
timer_cost() ->
    N = 100000,
    _ = timer_loop(?WARMUP, 0),
    timer_loop(N, 0) / N.

timer_loop(0, Sum) -> Sum;
timer_loop(N, Sum) ->
    T0 = erlang:monotonic_time(nanosecond),
    T1 = erlang:monotonic_time(nanosecond),
    timer_loop(N - 1, Sum + T1 - T0).

%%--------------------------------------------------------------------------------------
%% Inputs: the captured 4.2.14 calls of the `alice' publisher.

%% @doc `#{Hook => {fold, Args, Acc} | {run, Args}}'.
inputs() ->
    [CI, AuthAcc] = alice('client.authenticate'),
    [AclCI, PubSub, Topic, AclAcc] = alice('client.check_acl'),
    [Msg] = alice('message.publish'),
    [ConnCI, ConnInfo] = alice('client.connected'),
    #{'client.authenticate' => {fold, [CI], AuthAcc},
      'client.check_acl' => {fold, [AclCI, PubSub, Topic], AclAcc},
      'message.publish' => {fold, [], Msg},
      'client.connected' => {run, [ConnCI, ConnInfo]}}.

alice(Hook) ->
    case [Args || #{args := Args} <- emqx_double_captures:all(Hook),
                  username(hd(Args)) =:= <<"alice">>] of
        [Args | _] -> Args;
        [] -> error({no_alice_capture, Hook})
    end.

username(M) when is_map(M) -> maps:get(username, M, undefined);
username(Msg) when element(1, Msg) =:= message -> username(element(6, Msg));
username(_) -> undefined.

%%--------------------------------------------------------------------------------------
%% Modes: setup and teardown

setup(none) ->
    [[] = emqx_hooks:lookup(H) || H <- ?HOOKS],
    ok;
setup(erlang) ->
    Extra = {bench, erlang},
    [ok = emqx_hooks:add(H, {?MODULE, erl_fun(H), [Extra]}, 0) || H <- ?HOOKS],
    ok;
setup({rust_dirty_io, Lib}) ->
    setup({rust, Lib}),
    [emqx_hooks:del(H, {emqx_rust_hook_handler, emqx_rust_hook_handler:callback(H)})
     || H <- ?HOOKS],
    sync_hooks(),
    [ok = emqx_hooks:add(H, {?MODULE, dirty_fun(H), [{bench, dirty_io}]}, 0) || H <- ?HOOKS],
    ok;
setup({rust, Lib}) ->
    Path = filename:join(emqx_double:repo_path("target/release"), Lib),
    filelib:is_regular(Path) orelse error({not_built, Path, "run make bench"}),
    case rust_hook_test_util:start({path, Path}, []) of
        ok -> ok;
        Other -> error({plugin_start_failed, Path, Other})
    end.

teardown(none) ->
    ok;
teardown(erlang) ->
    [emqx_hooks:del(H, {?MODULE, erl_fun(H)}) || H <- ?HOOKS],
    sync_hooks();
teardown({rust_dirty_io, Lib}) ->
    [emqx_hooks:del(H, {?MODULE, dirty_fun(H)}) || H <- ?HOOKS],
    teardown({rust, Lib});
teardown({rust, _Lib}) ->
    ok = rust_hook_test_util:stop(),
    sync_hooks().

%% emqx_hooks:del/2 is a cast: wait until the server has handled it.
sync_hooks() ->
    _ = sys:get_state(emqx_hooks),
    [[] = emqx_hooks:lookup(H) || H <- ?HOOKS],
    ok.

erl_fun('client.authenticate') -> erl_authenticate;
erl_fun('client.check_acl') -> erl_check_acl;
erl_fun('message.publish') -> erl_publish;
erl_fun('client.connected') -> erl_connected.

dirty_fun('client.authenticate') -> dirty_authenticate;
dirty_fun('client.check_acl') -> dirty_check_acl;
dirty_fun('message.publish') -> dirty_publish;
dirty_fun('client.connected') -> dirty_connected.

%%--------------------------------------------------------------------------------------
%% The pure-Erlang hooks: the decisions of native/bench_hooks, returning what the SDK
%% returns for them.

erl_authenticate(ClientInfo, Acc, _Extra) ->
    Result = case has_username(ClientInfo) of
                 true -> success;
                 false -> not_authorized
             end,
    {stop, Acc#{auth_result => Result, anonymous => false}}.

erl_check_acl(ClientInfo, _PubSub, _Topic, _Acc, _Extra) ->
    case has_username(ClientInfo) of
        true -> {stop, allow};
        false -> {stop, deny}
    end.

erl_publish(Msg, _Extra) ->
    case element(7, Msg) of
        <<"deny/", _/binary>> ->
            {stop, setelement(6, Msg, (element(6, Msg))#{allow_publish => false})};
        _ ->
            ok
    end.

erl_connected(ClientInfo, _ConnInfo, _Extra) ->
    _ = has_username(ClientInfo),
    ok.

has_username(#{username := U}) when is_binary(U), U =/= <<>> -> true;
has_username(_) -> false.

%% The callbacks of `rust_dirty_io': the inline library's call, on a dirty I/O scheduler.
dirty_authenticate(ClientInfo, Acc, _Extra) ->
    dirty('client.authenticate', [ClientInfo, Acc]).

dirty_check_acl(ClientInfo, PubSub, Topic, Acc, _Extra) ->
    dirty('client.check_acl', [ClientInfo, PubSub, Topic, Acc]).

dirty_publish(Msg, _Extra) ->
    dirty('message.publish', [Msg]).

dirty_connected(ClientInfo, ConnInfo, _Extra) ->
    dirty('client.connected', [ClientInfo, ConnInfo]).

dirty(Hook, Args) ->
    case emqx_rust_hook_nif:call_dirty_io(Hook, Args) of
        {error, Kind, Message} -> error({call_dirty_io, Hook, Kind, Message});
        Result -> Result
    end.

%%--------------------------------------------------------------------------------------
%% Same decision in every mode: the allow path with the captured terms, and the deny
%% path (empty username, `deny/' topic), checked against the expected terms.

check(Mode, Hook) ->
    Decides = Mode =/= <<"none">>,
    lists:foreach(
      fun({Input, Want}) ->
              case call(Hook, Input) of
                  Want -> ok;
                  Got -> error({wrong_result, Mode, Hook, Input, {want, Want}, {got, Got}})
              end
      end,
      [{Input, expected(Decides, Hook, Input)} || Input <- check_inputs(Hook)]),
    ok.

check_inputs(Hook) ->
    Alice = maps:get(Hook, inputs()),
    [Alice, denied(Hook, Alice)].

denied('client.authenticate', {fold, [CI], Acc}) -> {fold, [CI#{username => <<>>}], Acc};
denied('client.check_acl', {fold, [CI | T], Acc}) -> {fold, [CI#{username => <<>>} | T], Acc};
denied('message.publish', {fold, [], Msg}) -> {fold, [], setelement(7, Msg, <<"deny/1">>)};
denied('client.connected', {run, [CI, Conn]}) -> {run, [CI#{username => undefined}, Conn]}.

expected(_, 'client.connected', _) -> ok;
expected(false, _Hook, {fold, _Args, Acc}) -> Acc;
expected(true, 'client.authenticate', {fold, [CI], Acc}) ->
    Result = case has_username(CI) of true -> success; false -> not_authorized end,
    Acc#{auth_result => Result, anonymous => false};
expected(true, 'client.check_acl', {fold, [CI | _], _}) ->
    case has_username(CI) of true -> allow; false -> deny end;
expected(true, 'message.publish', {fold, [], Msg}) ->
    case element(7, Msg) of
        <<"deny/", _/binary>> -> setelement(6, Msg, (element(6, Msg))#{allow_publish => false});
        _ -> Msg
    end.

call(Hook, {fold, Args, Acc}) -> emqx_hooks:run_fold(Hook, Args, Acc);
call(Hook, {run, Args}) -> emqx_hooks:run(Hook, Args).

%%--------------------------------------------------------------------------------------
%% One caller: each call timed

%% @doc Times `N' calls of `Hook' (after a warm-up) in the calling process; `Mode' is
%% the label of the case.
measure(Mode, Hook, Input, N) ->
    _ = loop(Hook, Input, ?WARMUP, []),
    erlang:garbage_collect(),
    Times = loop(Hook, Input, N, []),
    (stats(Times))#{hook => Hook, mode => Mode, callers => 1}.

loop(Hook, {fold, Args, Acc}, N, Ts) -> fold_loop(N, Hook, Args, Acc, Ts);
loop(Hook, {run, Args}, N, Ts) -> run_loop(N, Hook, Args, Ts).

fold_loop(0, _Hook, _Args, _Acc, Ts) ->
    Ts;
fold_loop(N, Hook, Args, Acc, Ts) ->
    T0 = erlang:monotonic_time(nanosecond),
    _ = emqx_hooks:run_fold(Hook, Args, Acc),
    T1 = erlang:monotonic_time(nanosecond),
    fold_loop(N - 1, Hook, Args, Acc, [T1 - T0 | Ts]).

run_loop(0, _Hook, _Args, Ts) ->
    Ts;
run_loop(N, Hook, Args, Ts) ->
    T0 = erlang:monotonic_time(nanosecond),
    _ = emqx_hooks:run(Hook, Args),
    T1 = erlang:monotonic_time(nanosecond),
    run_loop(N - 1, Hook, Args, [T1 - T0 | Ts]).

stats(Times) ->
    Sorted = lists:sort(Times),
    N = length(Sorted),
    T = list_to_tuple(Sorted),
    #{n => N,
      mean_ns => lists:sum(Sorted) / N,
      p50_ns => element(rank(0.50, N), T),
      p99_ns => element(rank(0.99, N), T)}.

rank(Q, N) -> max(1, min(N, ceil(Q * N))).

%%--------------------------------------------------------------------------------------
%% Concurrent callers: one per scheduler, each making `N' timed calls; calls/s from the
%% wall time between the first start and the last end.

%% @doc Throughput of `Hook' with `Callers' processes calling at once.
throughput(Mode, Hook, Input, N, Callers) ->
    Parent = self(),
    Pids = [spawn_link(fun() -> caller(Parent, Hook, Input, N) end)
            || _ <- lists:seq(1, Callers)],
    [receive {ready, P} -> ok end || P <- Pids],
    [P ! go || P <- Pids],
    Reports = [receive {done, P, Start, End, Ts} -> {Start, End, Ts} end || P <- Pids],
    Wall = lists:max([E || {_, E, _} <- Reports]) - lists:min([S || {S, _, _} <- Reports]),
    Stats = stats(lists:append([Ts || {_, _, Ts} <- Reports])),
    Name = iolist_to_binary([Mode, " x", integer_to_binary(Callers)]),
    Stats#{hook => Hook, mode => Name, callers => Callers,
           calls_per_s => Callers * N * 1.0e9 / Wall}.

caller(Parent, Hook, Input, N) ->
    _ = loop(Hook, Input, ?WARMUP, []),
    erlang:garbage_collect(),
    Parent ! {ready, self()},
    receive go -> ok end,
    Start = erlang:monotonic_time(nanosecond),
    Ts = loop(Hook, Input, N, []),
    End = erlang:monotonic_time(nanosecond),
    Parent ! {done, self(), Start, End, Ts}.

%%--------------------------------------------------------------------------------------
%% Breakdown of the inline path (stdout only): the same input through fewer layers, each
%% timed as a batch (no timer inside the loop): the runner, the plugin's callback, the
%% NIF alone, the NIF with the clientinfo trimmed to the one key the hook reads, and the
%% pure-Erlang hook function alone. Run while the inline library is loaded.

%% @doc `[{Hook, What, MeanNs}]' for the inline hooks `Hooks'.
breakdown(Hooks, N) ->
    Inputs = inputs(),
    %% The plugin's callbacks take the hookpoint's index, as EMQX calls them.
    lists:append([breakdown_hook(H, maps:get(H, Inputs), emqx_rust_hook_handler:index(H), N)
                  || H <- Hooks]).

breakdown_hook(Hook, Input, H, N) ->
    X = {bench, erlang},
    Nif = emqx_rust_hook_nif,
    Handler = emqx_rust_hook_handler,
    Min = #{username => <<"alice">>},
    Rows =
        case {Hook, Input} of
            {'client.authenticate', {fold, [CI], Acc}} ->
                [{"runner, no callback", fun() -> emqx_hooks:run_fold(nohook, [CI], Acc) end},
                 {"runner + plugin", fun() -> emqx_hooks:run_fold(Hook, [CI], Acc) end},
                 {"plugin callback", fun() -> Handler:on_client_authenticate(CI, Acc, H) end},
                 {"NIF", fun() -> Nif:client_authenticate(inline, CI, Acc) end},
                 {"NIF, clientinfo #{username}",
                  fun() -> Nif:client_authenticate(inline, Min, Acc) end},
                 {"erlang hook function", fun() -> erl_authenticate(CI, Acc, X) end}];
            {'client.check_acl', {fold, [CI, PS, T], Acc}} ->
                Args = [CI, PS, T],
                [{"runner, no callback", fun() -> emqx_hooks:run_fold(nohook, Args, Acc) end},
                 {"runner + plugin", fun() -> emqx_hooks:run_fold(Hook, Args, Acc) end},
                 {"plugin callback",
                  fun() -> Handler:on_client_check_acl(CI, PS, T, Acc, H) end},
                 {"NIF", fun() -> Nif:client_check_acl(inline, CI, PS, T, Acc) end},
                 {"NIF, clientinfo #{username}",
                  fun() -> Nif:client_check_acl(inline, Min, PS, T, Acc) end},
                 {"NIF, clientinfo #{}",
                  fun() -> Nif:client_check_acl(inline, #{}, PS, T, Acc) end},
                 {"erlang hook function", fun() -> erl_check_acl(CI, PS, T, Acc, X) end}];
            {'message.publish', {fold, [], Msg}} ->
                [{"runner, no callback", fun() -> emqx_hooks:run_fold(nohook, [], Msg) end},
                 {"runner + plugin", fun() -> emqx_hooks:run_fold(Hook, [], Msg) end},
                 {"plugin callback", fun() -> Handler:on_message_publish(Msg, H) end},
                 {"NIF", fun() -> Nif:message_publish(inline, Msg) end},
                 {"erlang hook function", fun() -> erl_publish(Msg, X) end}];
            {'client.connected', {run, [CI, Conn]}} ->
                [{"runner, no callback", fun() -> emqx_hooks:run(nohook, [CI, Conn]) end},
                 {"runner + plugin", fun() -> emqx_hooks:run(Hook, [CI, Conn]) end},
                 {"plugin callback", fun() -> Handler:on_client_connected(CI, Conn, H) end},
                 {"NIF", fun() -> Nif:client_connected(inline, CI, Conn) end},
                 {"NIF, conninfo #{}", fun() -> Nif:client_connected(inline, CI, #{}) end},
                 {"NIF, clientinfo #{username}, conninfo #{}",
                  fun() -> Nif:client_connected(inline, Min, #{}) end},
                 {"erlang hook function", fun() -> erl_connected(CI, Conn, X) end}]
        end,
    [{Hook, What, batch(F, N)} || {What, F} <- Rows].

%% Mean ns per call of `F' over `N' calls, timed as one batch (after a warm-up).
batch(F, N) ->
    repeat(F, ?WARMUP),
    erlang:garbage_collect(),
    T0 = erlang:monotonic_time(nanosecond),
    repeat(F, N),
    (erlang:monotonic_time(nanosecond) - T0) / N.

repeat(_F, 0) -> ok;
repeat(F, N) -> _ = F(), repeat(F, N - 1).

print_breakdown(Rows) ->
    io:format("~nbreakdown of rust_inline (single caller, mean ns per call, batch-timed; "
              "a call through a fun adds ~b ns):~n", [round(batch(fun() -> ok end, 100000))]),
    [io:format("  ~-20s ~-44s ~7b~n", [H, W, round(T)]) || {H, W, T} <- Rows],
    ok.

%%--------------------------------------------------------------------------------------
%% Output

print_table(Results) ->
    Baselines = maps:from_list([{{H, single(M)}, Mean}
                                || #{hook := H, mode := M, mean_ns := Mean} <- Results]),
    Header = io_lib:format("~-20s ~-16s ~8s ~9s ~9s ~9s ~9s ~10s ~12s~n",
                           ["hook", "mode", "n", "mean ns", "p50 ns", "p99 ns",
                            "-none ns", "x erlang", "calls/s"]),
    io:format("~ts~ts~n", [Header, lists:duplicate(108, $-)]),
    lists:foreach(
      fun(H) ->
              [print_row(R, Baselines) || R = #{hook := H1} <- Results, H1 =:= H],
              io:nl()
      end, ?HOOKS).

print_row(R = #{hook := H, mode := M, n := N, mean_ns := Mean, p50_ns := P50, p99_ns := P99},
          Baselines) ->
    Base = single(M),
    None = maps:get({H, none_of(Base)}, Baselines, undefined),
    Erl = maps:get({H, erlang_of(Base)}, Baselines, undefined),
    io:format("~-20s ~-16s ~8b ~9b ~9b ~9b ~9s ~10s ~12s~n",
              [H, M, N, round(Mean), P50, P99,
               case None of undefined -> "-"; _ -> integer_to_list(round(Mean - None)) end,
               case Erl of undefined -> "-"; _ -> io_lib:format("~.2f", [Mean / Erl]) end,
               case R of
                   #{calls_per_s := C} -> integer_to_list(round(C));
                   _ -> ""
               end]).

%% "rust_inline x2" -> {<<"rust_inline">>, <<" x2">>}: compare with the same column.
single(M) ->
    case binary:split(M, <<" ">>) of
        [Base, Suffix] -> {Base, Suffix};
        [Base] -> {Base, <<>>}
    end.

none_of({_, Suffix}) -> {<<"none">>, Suffix}.
erlang_of({_, Suffix}) -> {<<"erlang">>, Suffix}.

print_targets(Results) ->
    Mean = fun(H, M) ->
                   case [X || #{hook := H1, mode := M1, mean_ns := X} <- Results,
                              H1 =:= H, M1 =:= M] of
                       [X] -> X;
                       [] -> undefined
                   end
           end,
    io:format("targets (single caller, mean per call as measured, nothing subtracted):~n"),
    [case {Mean(H, <<"rust_inline">>), Mean(H, <<"erlang">>)} of
         {R, E} when is_number(R), is_number(E) ->
             io:format("  ~-20s rust_inline = ~.2fx erlang (target <= 1.50x): ~s~n",
                       [H, R / E, verdict(R / E =< 1.5)]);
         _ ->
             io:format("  ~-20s rust_inline vs erlang: not measured~n", [H])
     end || H <- ?FOLD_HOOKS],
    [case Mean(H, <<"rust_pool">>) of
         undefined ->
             io:format("  ~-20s rust_pool: not measured (no pool library)~n", [H]);
         P ->
             io:format("  ~-20s rust_pool = ~b ns (target <= 10000 ns): ~s~n",
                       [H, round(P), verdict(P =< 10000)])
     end || H <- ?FOLD_HOOKS],
    None = Mean('client.connected', <<"none">>),
    [case Mean('client.connected', M) of
         undefined ->
             ok;
         C ->
             io:format("  ~-20s ~s = ~b ns, ~b ns over none (target <= 1000 ns): ~s~n",
                       ['client.connected', M, round(C), round(C - None),
                        verdict(C =< 1000)])
     end || M <- [<<"rust_inline">>, <<"rust_queue">>]],
    ok.

verdict(true) -> "met";
verdict(false) -> "MISSED".

%% results.json, written by hand (no deps).
write_json(Out, Results) ->
    Cases = [case_json(R) || R <- Results],
    Json = ["{\"machine\": ", str(machine()), ", \"otp\": ", str(otp()),
            ", \"cases\": [\n  ", lists:join(",\n  ", Cases), "\n]}\n"],
    ok = filelib:ensure_dir(Out),
    file:write_file(Out, Json).

case_json(R = #{hook := H, mode := M, n := N, mean_ns := Mean, p50_ns := P50,
                p99_ns := P99}) ->
    Tput = case R of
               #{calls_per_s := C} -> [", \"calls_per_s\": ", integer_to_list(round(C))];
               _ -> []
           end,
    ["{\"hook\": ", str(atom_to_list(H)), ", \"mode\": ", str(M),
     ", \"n\": ", integer_to_list(N), ", \"mean_ns\": ", integer_to_list(round(Mean)),
     ", \"p50_ns\": ", integer_to_list(P50), ", \"p99_ns\": ", integer_to_list(P99),
     Tput, "}"].

str(S) ->
    [$", [esc(C) || C <- unicode:characters_to_list(S)], $"].

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> unicode:characters_to_binary([C]).

%% The CPU model from /proc/cpuinfo and the core count.
machine() ->
    Cores = case erlang:system_info(logical_processors_available) of
                unknown -> erlang:system_info(logical_processors);
                C -> C
            end,
    Model = case file:read_file("/proc/cpuinfo") of
                {ok, Bin} ->
                    case re:run(Bin, "^model name\\s*:\\s*(.*)$",
                                [multiline, {capture, all_but_first, binary}]) of
                        {match, [M]} -> string:trim(M);
                        nomatch -> <<"unknown CPU">>
                    end;
                _ -> <<"unknown CPU">>
            end,
    unicode:characters_to_list(
      io_lib:format("~ts, ~b cores", [Model, Cores])).

otp() -> erlang:system_info(otp_release).

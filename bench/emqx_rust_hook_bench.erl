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
%% - `rust_inline': the real plugin with native/bench_hooks (`#[hook(inline)]').
%%
%% Every decision-making mode decides the same from the same input: allow unless the
%% username is empty; for `message.publish', continue unless the topic starts with
%% `deny/'. `check/1' proves it before timing (allow and deny paths, every mode).
%%
%% Each call is timed with `erlang:monotonic_time(nanosecond)' (mean, p50, p99); nothing
%% is subtracted. Then as many callers as schedulers run each case at once (calls/s).
%% The table goes to stdout and the results to bench/results.json.
-module(emqx_rust_hook_bench).

-export([main/0, main/1]).
%% The pure-Erlang hooks of the `erlang' mode.
-export([erl_authenticate/3, erl_check_acl/5, erl_publish/2, erl_connected/3]).
%% Used by the breakdown and by hand.
-export([inputs/0, measure/3, throughput/3, modes/0]).

-define(DEFAULT_N, 50000).
-define(WARMUP, 5000).
-define(HOOKS, ['client.authenticate', 'client.check_acl', 'message.publish',
                'client.connected']).

%%--------------------------------------------------------------------------------------
%% The modes, in table order: {Name, How}. Adding a mode is one line here.
%% `{rust, Lib}' loads the real plugin with target/release/lib<Lib>.so; a hook the
%% library does not register is left out of that mode (a pool library has no
%% notification hook).

modes() ->
    [{none, none},
     {erlang, erlang},
     {rust_inline, {rust, "bench_hooks"}}
     %% rust_pool: not measured yet, `#[hook(pool)]' is not implemented by the plugin.
     %% Once it is: {rust_pool, {rust, "bench_hooks_pool"}}
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
    Inputs = inputs(),
    Scheds = erlang:system_info(schedulers_online),
    io:format("emqx_rust_hook bench: ~ts, OTP ~ts, ~b schedulers, ~b calls per case "
              "(after ~b warm-up calls)~n~n",
              [machine(), otp(), Scheds, N, ?WARMUP]),
    Results = lists:append([run_mode(Mode, Inputs, N, Scheds) || Mode <- modes()]),
    print_table(Results),
    print_targets(Results),
    ok = write_json(Out, Results),
    io:format("~nwrote ~ts~n", [Out]),
    ok.

run_mode({Mode, How}, Inputs, N, Scheds) ->
    setup(How),
    try
        Hooks = [H || H <- ?HOOKS, How =:= none orelse emqx_hooks:lookup(H) =/= []],
        [ok = check(Mode, H) || H <- Hooks],
        Single = [measure(Mode, H, maps:get(H, Inputs), N) || H <- Hooks],
        Multi = [throughput(Mode, H, maps:get(H, Inputs), N, Scheds) || H <- Hooks],
        Single ++ Multi
    after
        teardown(How)
    end.

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
setup({rust, Lib}) ->
    case rust_hook_test_util:start(Lib, []) of
        ok -> ok;
        Other -> error({plugin_start_failed, Lib, Other})
    end.

teardown(none) ->
    ok;
teardown(erlang) ->
    [emqx_hooks:del(H, {?MODULE, erl_fun(H)}) || H <- ?HOOKS],
    sync_hooks();
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

%%--------------------------------------------------------------------------------------
%% Same decision in every mode: the allow path with the captured terms, and the deny
%% path (empty username, `deny/' topic), checked against the expected terms.

check(Mode, Hook) ->
    Decides = Mode =/= none,
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

%% @doc Times `N' calls of `Hook' (after a warm-up) in the calling process.
measure(Mode, Hook, Input, N) ->
    _ = loop(Hook, Input, ?WARMUP, []),
    erlang:garbage_collect(),
    Times = loop(Hook, Input, N, []),
    (stats(Times))#{hook => Hook, mode => atom_to_binary(Mode), callers => 1}.

measure(Mode, Hook, N) ->
    measure(Mode, Hook, maps:get(Hook, inputs()), N).

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

%% @doc Throughput of `Hook' with as many callers as schedulers.
throughput(Mode, Hook, N) ->
    throughput(Mode, Hook, maps:get(Hook, inputs()), N,
               erlang:system_info(schedulers_online)).

throughput(Mode, Hook, Input, N, Callers) ->
    Parent = self(),
    Pids = [spawn_link(fun() -> caller(Parent, Hook, Input, N) end)
            || _ <- lists:seq(1, Callers)],
    [receive {ready, P} -> ok end || P <- Pids],
    [P ! go || P <- Pids],
    Reports = [receive {done, P, Start, End, Ts} -> {Start, End, Ts} end || P <- Pids],
    Wall = lists:max([E || {_, E, _} <- Reports]) - lists:min([S || {S, _, _} <- Reports]),
    Stats = stats(lists:append([Ts || {_, _, Ts} <- Reports])),
    Name = iolist_to_binary([atom_to_binary(Mode), " x", integer_to_binary(Callers)]),
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
    io:format("targets (single caller, mean):~n"),
    lists:foreach(
      fun(H) ->
              case {Mean(H, <<"rust_inline">>), Mean(H, <<"erlang">>)} of
                  {R, E} when is_number(R), is_number(E) ->
                      io:format("  ~-20s rust_inline/erlang = ~.2f (target <= 1.50): ~s~n",
                                [H, R / E, verdict(R / E =< 1.5)]);
                  _ ->
                      io:format("  ~-20s rust_inline/erlang: not measured~n", [H])
              end
      end, ['client.authenticate', 'client.check_acl', 'message.publish']),
    lists:foreach(
      fun(H) ->
              case Mean(H, <<"rust_pool">>) of
                  undefined ->
                      io:format("  ~-20s rust_pool <= 10000 ns: not measured "
                                "(no rust_pool mode)~n", [H]);
                  P ->
                      io:format("  ~-20s rust_pool = ~b ns (target <= 10000): ~s~n",
                                [H, round(P), verdict(P =< 10000)])
              end
      end, ['client.authenticate', 'client.check_acl', 'message.publish']),
    case {Mean('client.connected', <<"rust_inline">>), Mean('client.connected', <<"none">>)} of
        {C, N} when is_number(C), is_number(N) ->
            io:format("  ~-20s rust_inline = ~b ns, ~b ns over none (target <= 1000): ~s~n",
                      ['client.connected', round(C), round(C - N), verdict(C =< 1000)]);
        _ ->
            io:format("  client.connected: not measured~n")
    end.

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
    Cores = erlang:system_info(logical_processors_available),
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
      io_lib:format("~ts, ~b cores", [Model, case Cores of unknown -> erlang:system_info(logical_processors); _ -> Cores end])).

otp() -> erlang:system_info(otp_release).

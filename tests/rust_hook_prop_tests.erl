%% @doc Property tests (PropEr) across the Erlang/Rust boundary: generated arguments for
%% all 19 hooks, valid (the 4.2.14 captures with client data, addresses and payloads
%% replaced, 4.3/4.4 shapes: binary `proto_ver', non-IP peers, unknown keys) and
%% malformed (any part replaced by a wrong type, an improper list, a bignum, a huge or
%% invalid-UTF-8 binary, an iolist, a deep term, or removed), run
%% - through every hook NIF entry point (`inline'): the answer is a valid decision or
%%   `{error, Kind, Message}' naming the hook (and, for bad input, the bad field);
%% - through the plugin's callbacks in every mode (inline, pool, queue) with
%%   native/decide_hooks, whose decisions are derived from the input (invalid ones too):
%%   no exception, and what EMQX gets is the fallback or an accumulator the stand-in
%%   host's own checks accept (emqx_double_check, emqx_double_frame, emqx_topic), and
%%   folded by the stand-in host's `emqx_hooks:run_fold';
%% - with native/test_hooks, valid terms only: what the views decode equals what the
%%   Erlang reference decoder (rust_hook_expect) reads from the same term;
%% and VM memory and process RSS stay flat over a run.
%%
%% `FUZZ_SCALE=N' multiplies the case counts (`make fuzz'); each property prints its
%% count, and the suite the total.
-module(rust_hook_prop_tests).

-include_lib("proper/include/proper.hrl").
-include_lib("eunit/include/eunit.hrl").

-export([run_fuzz/0]).

-define(FOLDS, ['client.connect', 'client.connack', 'client.authenticate',
                'client.check_acl', 'client.subscribe', 'client.unsubscribe',
                'message.publish', 'message.delivered']).

%%--------------------------------------------------------------------------------------
%% EUnit entry points

scale() ->
    case os:getenv("FUZZ_SCALE") of
        false -> 1;
        S -> try list_to_integer(S) catch error:badarg -> list_to_float(S) end
    end.

%% `Base' cases at FUZZ_SCALE (at least 100).
cases(Base) -> max(100, round(Base * scale())).

modes_test_() ->
    [{setup,
      fun() -> start("decide_hooks", mode_lines(Mode)) end,
      fun(_) -> rust_hook_test_util:stop() end,
      {timeout, 600,
       {lists:flatten(io_lib:format("decide_hooks, every hook ~p: robust, decisions valid", [Mode])),
        fun() -> robust_in_mode(Mode, cases(12000)) end}}}
     || Mode <- [inline, pool, queue]].

entry_points_test_() ->
    {setup,
     fun() -> start("decide_hooks", []) end,
     fun(_) -> rust_hook_test_util:stop() end,
     {timeout, 600,
      {"every NIF entry point: a decision or an error naming the hook and the field",
       fun() -> check(entry_points, prop_entry_points(), cases(40000)) end}}}.

views_test_() ->
    {setup,
     fun() -> rust_hook_test_util:probe_start(), start("test_hooks", mode_lines(inline)) end,
     fun(_) -> rust_hook_test_util:stop(), rust_hook_test_util:probe_stop() end,
     {timeout, 600,
      {"views of valid terms equal the Erlang reference decoder",
       fun() -> check(views, prop_views(), cases(20000)) end}}}.

%% @doc `make fuzz': the suite at FUZZ_SCALE, then the total and the distinct failures.
run_fuzz() ->
    Result = eunit:test(?MODULE, []),
    io:format("~nfuzz: ~p generated cases, ~p distinct failures~n",
              [counted(), length(failures())]),
    [io:format("  failure: ~P~n", [F, 30]) || F <- failures()],
    Result.

start(Lib, Lines) ->
    ok = rust_hook_test_util:start(Lib, Lines),
    ok.

%% Every hook the library implements in `Mode' (notifications cannot use the pool: they
%% stay queued).
mode_lines(Mode) ->
    [["exhook.drivers.rust.mode.", method(H), " = ",
      atom_to_list(case {Mode, lists:member(H, ?FOLDS)} of
                       {pool, false} -> queue;
                       _ -> Mode
                   end)] || H <- hooks()].

hooks() ->
    lists:usort([maps:get(hook, C) || C <- emqx_double_captures:all()]).

method(Hook) -> [case C of $. -> $_; _ -> C end || C <- atom_to_list(Hook)].

%% Runs a property for N cases; counts them (for `make fuzz') and keeps failures.
check(Name, Prop, N) ->
    Before = mem(),
    Result = proper:quickcheck(Prop, [{numtests, N}, {on_output, fun quiet/2}, {max_shrinks, 30}, long_result]),
    add_count(N),
    case Result of
        true -> ok;
        CounterExample ->
            add_failure({Name, CounterExample}),
            io:format(user, "~n  ~p failed on~n  ~p~n", [Name, CounterExample]),
            ?assertEqual({Name, passed}, {Name, CounterExample})
    end,
    io:format(user, "~n  ~p: ~p cases~n", [Name, N]),
    flat(Name, Before).

quiet(_, _) -> ok.

add_count(N) -> persistent_term:put({?MODULE, count}, counted() + N).
counted() -> persistent_term:get({?MODULE, count}, 0).
add_failure(F) -> persistent_term:put({?MODULE, failures}, lists:usort([F | failures()])).
failures() -> persistent_term:get({?MODULE, failures}, []).

%%--------------------------------------------------------------------------------------
%% Memory: the VM's total and the process RSS after a run, against before it.

mem() ->
    [garbage_collect(P) || P <- processes()],
    {erlang:memory(total), rss()}.

rss() ->
    {ok, Bin} = file:read_file("/proc/self/statm"),
    [_, Pages | _] = binary:split(Bin, <<" ">>, [global]),
    binary_to_integer(Pages) * 4096.

%% Growth allowed over a run: generated terms are garbage once a case is done; what
%% stays is allocator slack, not a leak per case (a leak of even 100 bytes per case
%% would pass 1 MB per 10,000 cases; these bounds hold for any scale).
-define(MAX_VM_GROWTH, 32 * 1024 * 1024).
-define(MAX_RSS_GROWTH, 96 * 1024 * 1024).

flat(Name, {Vm0, Rss0}) ->
    {Vm1, Rss1} = mem(),
    io:format(user, "  ~p: VM memory ~p -> ~p KiB, RSS ~p -> ~p KiB~n",
              [Name, Vm0 div 1024, Vm1 div 1024, Rss0 div 1024, Rss1 div 1024]),
    ?assert(Vm1 - Vm0 < ?MAX_VM_GROWTH),
    ?assert(Rss1 - Rss0 < ?MAX_RSS_GROWTH).

%%--------------------------------------------------------------------------------------
%% Properties

%% In one mode: warm up, then a run whose memory is compared with the warm-up's end.
robust_in_mode(Mode, N) ->
    Errors0 = errors(),
    check({robust, Mode, warmup}, prop_robust(), N div 4),
    check({robust, Mode}, prop_robust(), N),
    %% Both paths ran: decisions applied and decisions refused (counted as errors).
    Stats = results(),
    io:format(user, "  results in ~p mode: ~p~n", [Mode, Stats]),
    ?assert(maps:get(ok, Stats, 0) > 0),
    Mode =:= queue orelse ?assert(maps:get(changed, Stats, 0) > 0),
    case Mode of
        queue -> ok;    % queued hooks observe: nothing they decide is applied
        _ -> ?assert(errors() > Errors0)
    end.

errors() ->
    lists:sum([maps:get(errors, S) + maps:get(panics, S)
               || S <- maps:values(emqx_rust_hook_nif:stats())]).

%% Through the plugin's registered callbacks (exceptions surface here: the stand-in's
%% run_fold would catch them), then through the stand-in host's fold.
prop_robust() ->
    ?FORALL(Case, any_case(),
            guarded(Case, fun() ->
                {Hook, Args} = realize(Case),
                Result = call_callback(Hook, Args),
                valid_result(Hook, Args, Result) andalso folded(Hook, Args)
            end)).

%% Through the NIF functions themselves, inline.
prop_entry_points() ->
    ?FORALL(Case, any_case(),
            guarded(Case, fun() ->
                {Hook, Args} = realize(Case),
                Fun = list_to_existing_atom(method(Hook)),
                Result = apply(emqx_rust_hook_nif, Fun, [inline | Args]),
                case Result of
                    {error, Kind, Msg} ->
                        is_binary(Msg) andalso
                            binary:match(Msg, atom_to_binary(Hook, utf8)) =/= nomatch
                            andalso names_field(Kind, Msg)
                            andalso no_control_characters(Msg);
                    _ ->
                        valid_result(Hook, Args, Result)
                end
            end)).

%% A decode error says which field: "<hook> (clientid ...): bad argument: <what>: expected ..."
names_field(decode, Msg) ->
    re:run(Msg, <<"bad argument: [a-z_.\\[\\] ]+: expected ">>) =/= nomatch;
names_field(_, _) -> true.

no_control_characters(Msg) ->
    re:run(Msg, <<"[\\x00-\\x1f\\x7f]">>) =:= nomatch.

%% Valid terms: each report equals the reference decoder's reading.
prop_views() ->
    ?FORALL(Case, valid_case(),
            guarded(Case, fun() ->
                {Hook, Args} = realize(Case),
                rust_hook_test_util:flush_reports(),
                _ = host_run(Hook, Args),
                case rust_hook_decode_tests:expected_count(Hook, Args) of
                    0 -> true;
                    1 ->
                        Rs = rust_hook_test_util:reports(),
                        [R] = [X || X <- Rs, maps:get(<<"hook">>, X) =:= atom_to_binary(Hook, utf8)]
                            ++ [{other_reports, Rs} || Rs =:= []],
                        %% Raises, naming the field, on a difference.
                        _ = rust_hook_decode_tests:check(Hook, Args, R),
                        true
                end
            end)).

%% A property's body with exceptions turned into a failure that says what was raised
%% (PropEr 1.2 as Debian ships it calls erlang:get_stacktrace/0, gone since OTP 23,
%% when a property raises).
guarded(Case, Fun) ->
    try Fun()
    catch C:E:S ->
            %% The first few (shrinking repeats them).
            N = case get({?MODULE, raised}) of undefined -> 0; N0 -> N0 end,
            put({?MODULE, raised}, N + 1),
            N < 3 andalso
                io:format(user, "~n  ~P~n  raised ~p:~P~n  ~P~n", [Case, 12, C, E, 20, S, 12]),
            false
    end.

call_callback(Hook, Args) ->
    [{callback, {M, F, A}, _Filter, _Prio}] = emqx_hooks:lookup(Hook),
    apply(M, F, Args ++ A).

host_run(Hook, Args) ->
    case lists:member(Hook, ?FOLDS) of
        true ->
            {Init, [Acc]} = lists:split(length(Args) - 1, Args),
            emqx_hooks:run_fold(Hook, Init, Acc);
        false ->
            emqx_hooks:run(Hook, Args)
    end.

%% The stand-in host's fold returns the accumulator EMQX goes on with: it passes the
%% same checks (for a fold hook) or is `ok' (a notification).
folded(Hook, Args) ->
    case lists:member(Hook, ?FOLDS) of
        true -> valid_acc(Hook, Args, host_run(Hook, Args));
        false -> host_run(Hook, Args) =:= ok
    end.

note(What) ->
    S = results(),
    put({?MODULE, results}, S#{What => maps:get(What, S, 0) + 1}),
    true.

results() ->
    case get({?MODULE, results}) of
        undefined -> #{};
        S -> S
    end.

%% What a callback may return to EMQX.
valid_result(_Hook, _Args, ok) ->
    note(ok);
valid_result('client.authenticate', _, {stop, Acc}) -> note(changed), auth_acc(Acc);
valid_result('client.check_acl', _, {stop, R}) -> note(changed), R =:= allow orelse R =:= deny;
valid_result('client.connect', _, {stop, {error, Code}}) -> note(changed), Code >= 16#80;
valid_result(Hook, Args, {ok, Acc}) when Hook =/= 'client.authenticate', Hook =/= 'client.check_acl' ->
    note(changed),
    lists:member(Hook, ?FOLDS) andalso valid_acc(Hook, Args, Acc);
valid_result('message.publish', Args, {stop, Msg}) ->
    note(changed),
    valid_acc('message.publish', Args, Msg) andalso
        maps:get(allow_publish, element(6, Msg)) =:= false;
valid_result(_Hook, _Args, _Other) ->
    false.

auth_acc(#{auth_result := R, anonymous := false} = Acc) when is_atom(R) ->
    is_boolean(maps:get(is_superuser, Acc, false));
auth_acc(_) -> false.

%% The accumulator after a fold: unchanged, or of the hook's shape and, when the original
%% passed the broker's checks (a malformed original may keep its malformed parts: they
%% came from EMQX), passing them too.
valid_acc(Hook, Args, Acc) ->
    Orig = lists:last(Args),
    Acc =:= Orig orelse shape(Hook, Acc, Orig) andalso (not acc_ok(Hook, Orig) orelse acc_ok(Hook, Acc)).

shape('client.authenticate', Acc) -> auth_acc(Acc);
shape('client.check_acl', Acc) -> Acc =:= allow orelse Acc =:= deny;
shape('client.connect', {error, Code}) -> is_integer(Code) andalso Code >= 16#80;
shape('client.connect', Props) -> is_map(Props);
shape('client.connack', Props) -> is_map(Props);
shape(Sub, Filters) when Sub =:= 'client.subscribe'; Sub =:= 'client.unsubscribe' ->
    is_list(Filters) andalso
        lists:all(fun({T, Opts}) when is_binary(T), is_map(Opts) ->
                          accepted(fun() -> emqx_topic:validate({filter, T}) end)
                              andalso (Sub =:= 'client.unsubscribe'
                                       orelse lists:member(maps:get(qos, Opts, x), [0, 1, 2]));
                     (_) -> false
                  end, Filters);
shape(Hook, Acc) -> shape(Hook, Acc, Acc).

%% A message: a #message{} whose topic, when the decision changed it, is a valid name.
shape(Hook, Msg, Orig) when Hook =:= 'message.publish'; Hook =:= 'message.delivered' ->
    is_tuple(Msg) andalso tuple_size(Msg) =:= 9 andalso element(1, Msg) =:= message
        andalso (element(7, Msg) =:= element(7, Orig)
                 orelse (is_binary(element(7, Msg))
                         andalso accepted(fun() -> emqx_topic:validate({name, element(7, Msg)}) end)
                         andalso byte_size(element(7, Msg)) =< 4096));
%% Topic filters: each as the 2-arity shape says, except what came from EMQX: a filter
%% of the original list, and an original's topic whose options the decision changed.
shape(Sub, Filters, Orig) when Sub =:= 'client.subscribe'; Sub =:= 'client.unsubscribe' ->
    Given = try [F || F <- Orig] catch _:_ -> [] end,
    is_list(Filters) andalso
        lists:all(fun(F) -> lists:member(F, Given) orelse filter_shape(Sub, F, Given) end,
                  Filters);
shape(Hook, Acc, _Orig) -> shape(Hook, Acc).

filter_shape(Sub, {T, Opts}, Given) when is_binary(T), is_map(Opts) ->
    (lists:keymember(T, 1, Given)
     orelse accepted(fun() -> emqx_topic:validate({filter, T}) end))
        andalso (Sub =:= 'client.unsubscribe'
                 orelse lists:member(maps:get(qos, Opts, x), [0, 1, 2]));
filter_shape(_, _, _) -> false.

acc_ok('client.connect', {error, _} = Refused) -> shape('client.connect', Refused);
acc_ok('client.connect', Props) ->
    accepted(fun() -> ok = emqx_double_check:connect_props(5, Props) end);
acc_ok('client.connack', Props) ->
    accepted(fun() -> emqx_double_frame:properties(Props) end);
acc_ok(Hook, Msg) when Hook =:= 'message.publish'; Hook =:= 'message.delivered' ->
    accepted(fun() -> emqx_double_check:message(Msg) end);
acc_ok(Hook, Acc) -> shape(Hook, Acc).

accepted(Fun) ->
    try Fun(), true
    catch _:_ -> false
    end.

%%--------------------------------------------------------------------------------------
%% Generators

%% A captured 4.2.14 call (hook and arguments, accumulator last).
captured() ->
    Calls = case persistent_term:get({?MODULE, captures}, undefined) of
                undefined ->
                    C = [{Hook, Args} || #{hook := Hook, args := Args} <- emqx_double_captures:all()],
                    persistent_term:put({?MODULE, captures}, C),
                    C;
                C -> C
            end,
    elements(Calls).

any_case() ->
    frequency([{3, valid_case()}, {2, v43_case()}, {5, malformed_case()}]).

%% Valid 4.2 terms: client data, addresses, payloads, topics replaced.
valid_case() ->
    ?LET({{Hook, Args}, Changes}, {captured(), list(valid_change())},
         {Hook, lists:foldl(fun(C, A) -> apply_valid(Hook, C, A) end, Args, Changes)}).

valid_change() ->
    oneof([{clientid, client_binary()},
           {username, oneof([undefined, client_binary()])},
           {peerhost, ip()},
           {peername, ?LET({IP, Port}, {ip(), range(0, 65535)}, {IP, Port})},
           {payload, payload()},
           {topic, topic()}]).

%% 4.3 and 4.4 shapes: binary proto_ver, non-IP peers, new keys.
v43_case() ->
    ?LET({{Hook, Args}, Changes}, {captured(), non_empty(list(v43_change()))},
         {Hook, lists:foldl(fun(C, A) -> apply_valid(Hook, C, A) end, Args, Changes)}).

v43_change() ->
    oneof([{proto_ver, oneof([<<"5">>, <<"4">>, <<"MQTT">>])},
           {peername, oneof([{local, <<"/run/emqx.sock">>}, undefined, {{0, 0, 0, 0, 0, 0, 0, 1}, 1}])},
           {peerhost, oneof([undefined, {0, 0, 0, 0, 0, 16#FFFF, 16#7F00, 1}])},
           {unknown_key, oneof([client_attrs, peersni, expiry_interval, 'x-new']), bad_term()}]).

%% Any part of the arguments replaced by a bad term, or a map key removed.
malformed_case() ->
    ?LET({{Hook, Args}, Path, Bad}, {captured(), non_empty(list(range(0, 1000))), bad_term()},
         {Hook, mutate_args(Args, Path, Bad)}).

client_binary() ->
    oneof([binary(),
           utf8(),
           <<"client/é\n\r\e[31m\0"/utf8>>,
           <<16#ff, 16#fe, 16#80>>,
           huge_binary(),
           ?LET(B, binary(), sub_binary(B))]).

payload() ->
    oneof([binary(), huge_binary(), ?LET(B, binary(), sub_binary(B))]).

topic() ->
    ?LET(Levels, non_empty(list(oneof([<<"t">>, <<"a">>, <<>>, <<"é"/utf8>>, <<"up">>, <<"x1">>]))),
         iolist_to_binary(lists:join(<<"/">>, Levels))).

sub_binary(B) ->
    Big = <<"prefix-", B/binary, "-suffix">>,
    binary:part(Big, 7, byte_size(B)).

huge_binary() ->
    {'$heavy', huge_binary}.

ip() ->
    oneof([{range(0, 255), range(0, 255), range(0, 255), range(0, 255)},
           {range(0, 65535), range(0, 65535), range(0, 65535), range(0, 65535),
            range(0, 65535), range(0, 65535), range(0, 65535), range(0, 65535)},
           ?LET({A, B}, {range(0, 65535), range(0, 65535)}, {0, 0, 0, 0, 0, 16#FFFF, A, B}),
           %% Runs of zeros, link-local, IPv4-compatible: where texts differ most.
           ?LET(L, vector(8, frequency([{3, 0}, {1, range(1, 65535)}])), list_to_tuple(L)),
           ?LET({A, B}, {range(0, 65535), range(0, 65535)}, {16#FE80, A, 0, 0, 0, 0, 0, B})]).

bad_term() ->
    oneof([some_atom(),
           elements([undefined, true, nil, '', 'é']),
           integer(),
           elements([-1, -(1 bsl 70), 1 bsl 64, 1 bsl 200, 16#FFFFFFFF + 1]),
           float(),
           binary(),
           <<16#ff, 16#fe>>,
           elements([[a | b], [<<"t">> | <<"x">>], [{<<"t">>, #{qos => 0}} | tail]]),
           elements([[<<"io">>, [<<"list">>, $x]], [[[[<<"t">>]]]]]),
           elements([{}, {a}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, #{}, #{unknown => 1}]),
           elements([{'$heavy', H} || H <- [deep_list, deep_tuple, long_list, huge_binary, big_map]]),
           elements([self(), make_ref()]),
           list(oneof([some_atom(), integer(), binary()]))]).

%% Atoms from a fixed set: PropEr's atom() would create new atoms, which the VM never
%% frees, and the memory check would count them.
some_atom() ->
    elements([ok, error, undefined, true, false, nil, '', 'é', 'Client', qos, clientid,
              'User-Property', publish, subscribe, allow, deny, message, stop, x]).

%% Costly terms stand in generated cases as `{'$heavy', Name}' (PropEr walks what it
%% generates, and would walk them for every case); built once, put in before the call.
realize({'$heavy', Name}) -> heavy(Name);
realize(M) when is_map(M) -> maps:map(fun(_, V) -> realize(V) end, M);
realize(T) when is_tuple(T) -> list_to_tuple(realize(tuple_to_list(T)));
realize([H | T]) -> [realize(H) | realize(T)];
realize(X) -> X.

heavy(Name) ->
    case persistent_term:get({?MODULE, heavy, Name}, undefined) of
        undefined ->
            T = build_heavy(Name),
            persistent_term:put({?MODULE, heavy, Name}, T),
            T;
        T -> T
    end.

build_heavy(deep_list) -> lists:foldl(fun(_, A) -> [A] end, <<"x">>, lists:seq(1, 100000));
build_heavy(deep_tuple) -> lists:foldl(fun(_, A) -> {A} end, x, lists:seq(1, 100000));
build_heavy(long_list) -> lists:duplicate(100000, {<<"t">>, #{qos => 0}});
build_heavy(huge_binary) -> binary:copy(<<"\n\e\0", 16#ff, "é">>, 64 * 1024 div 6 + 1);
build_heavy(big_map) -> maps:from_list([{I, I} || I <- lists:seq(1, 5000)]).

%% Where a valid change applies in each hook's arguments.
apply_valid(Hook, {Key, Value}, Args) ->
    [apply_valid_arg(Hook, Key, Value, A) || A <- Args];
apply_valid(_Hook, {unknown_key, Key, Value}, Args) ->
    [case A of M when is_map(M), map_size(M) > 3 -> M#{Key => Value}; _ -> A end || A <- Args].

apply_valid_arg(_, clientid, V, #{clientid := _} = M) -> M#{clientid := V};
apply_valid_arg(_, username, V, #{username := _} = M) -> M#{username := V};
apply_valid_arg(_, peerhost, V, #{peerhost := _} = M) -> M#{peerhost := V};
apply_valid_arg(_, peername, V, #{peername := _} = M) -> M#{peername := V};
apply_valid_arg(_, proto_ver, V, #{proto_ver := _} = M) -> M#{proto_ver := V};
apply_valid_arg(_, payload, V, {message, _, _, _, _, _, _, _, _} = Msg) -> setelement(8, Msg, V);
apply_valid_arg(_, clientid, V, {message, _, _, From, _, _, _, _, _} = Msg) when is_binary(From) ->
    setelement(4, Msg, V);
apply_valid_arg('message.publish', topic, V, {message, _, _, _, Flags, _, _, _, _} = Msg) ->
    %% A client's message (a `sys' flag says emqx_sys published it).
    setelement(7, setelement(5, Msg, maps:remove(sys, Flags)), V);
apply_valid_arg(_, _, _, A) -> A.

mutate_args(Args, [I | Path], Bad) ->
    N = I rem length(Args) + 1,
    lists:sublist(Args, N - 1) ++ [mutate(lists:nth(N, Args), Path, Bad)] ++ lists:nthtail(N, Args).

mutate(_Term, [], Bad) -> Bad;
mutate(M, [I | Path], Bad) when is_map(M), map_size(M) > 0 ->
    Keys = lists:sort(maps:keys(M)),
    K = lists:nth(I rem length(Keys) + 1, Keys),
    case Path of
        [] when I rem 5 =:= 0 -> maps:remove(K, M);
        _ -> M#{K := mutate(maps:get(K, M), Path, Bad)}
    end;
mutate(T, [I | Path], Bad) when is_tuple(T), tuple_size(T) > 0 ->
    N = I rem tuple_size(T) + 1,
    setelement(N, T, mutate(element(N, T), Path, Bad));
mutate([_ | _] = L, [I | Path], Bad) ->
    N = I rem length(L) + 1,
    lists:sublist(L, N - 1) ++ [mutate(lists:nth(N, L), Path, Bad)] ++ lists:nthtail(N, L);
mutate(_Leaf, _Path, Bad) -> Bad.

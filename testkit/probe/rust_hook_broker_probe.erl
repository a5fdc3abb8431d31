%% @doc Loaded into the broker under test by the broker suite (not part of the plugin).
%% Registers `rust_hook_probe', the process native/test_hooks and native/slow_hooks send
%% their reports to, and hands the reports over as JSON so the Rust harness can read
%% them without parsing Erlang terms.
-module(rust_hook_broker_probe).

-export([start/0, dump/1, hook_counts/1, ctl_steps/1, json/1]).

%% @doc (Re)starts the probe; returns ok.
start() ->
    case whereis(rust_hook_probe) of
        undefined -> ok;
        Old -> unregister(rust_hook_probe), exit(Old, kill)
    end,
    Pid = spawn(fun() -> loop([]) end),
    register(rust_hook_probe, Pid),
    ok.

loop(Acc) ->
    receive
        {'$rust_hook_broker_probe_take', From, Ref} ->
            From ! {Ref, lists:reverse(Acc)},
            loop([]);
        Report ->
            loop([Report | Acc])
    end.

%% @doc Writes every report received since the last dump to `File' as a JSON array
%% (oldest first) and returns their number. Starts the probe if it is not running.
dump(File) ->
    case whereis(rust_hook_probe) of
        undefined -> start();
        _ -> ok
    end,
    Ref = make_ref(),
    rust_hook_probe ! {'$rust_hook_broker_probe_take', self(), Ref},
    receive
        {Ref, Reports} ->
            ok = file:write_file(File, json(Reports)),
            length(Reports)
    after 10000 -> error(probe_timeout)
    end.

%% @doc For each hookpoint, the number of callbacks of `Module' registered with EMQX.
hook_counts(Module) ->
    Hooks = ['client.connect', 'client.connack', 'client.connected', 'client.disconnected',
             'client.authenticate', 'client.check_acl', 'client.subscribe',
             'client.unsubscribe', 'session.created', 'session.subscribed',
             'session.unsubscribed', 'session.resumed', 'session.discarded',
             'session.takeovered', 'session.terminated', 'message.publish',
             'message.delivered', 'message.acked', 'message.dropped'],
    [{H, length([C || C <- emqx_hooks:lookup(H), is_ours(element(2, C), Module)])}
     || H <- Hooks].

%% @doc Runs `emqx_ctl' commands in turn, as `bin/emqx_ctl' does (their output goes to
%% the caller); after each, the number of emqx_rust_hook_handler callbacks registered.
ctl_steps(Cmds) ->
    [begin
         _ = emqx_ctl:run_command(Cmd),
         _ = sys:get_state(emqx_hooks), % emqx:unhook/2 is a cast
         lists:sum([N || {_, N} <- hook_counts(emqx_rust_hook_handler)])
     end || Cmd <- Cmds].

is_ours({M, _, _}, M) -> true;
is_ours(_, _) -> false.

%% @doc An Erlang term as JSON: maps as objects, lists and tuples as arrays, UTF-8
%% binaries as strings and other binaries as {"$bytes": [..]}, atoms as strings
%% (true/false as booleans, nil/undefined as null).
json(M) when is_map(M) ->
    Pairs = [[json(key(K)), $:, json(V)] || {K, V} <- lists:sort(maps:to_list(M))],
    [${, lists:join($,, Pairs), $}];
json(L) when is_list(L) -> [$[, lists:join($,, [json(X) || X <- L]), $]];
json(T) when is_tuple(T) -> json(tuple_to_list(T));
json(true) -> <<"true">>;
json(false) -> <<"false">>;
json(nil) -> <<"null">>;
json(undefined) -> <<"null">>;
json(A) when is_atom(A) -> json(atom_to_binary(A, utf8));
json(I) when is_integer(I) -> integer_to_binary(I);
json(F) when is_float(F) -> float_to_binary(F, [short]);
json(B) when is_binary(B) ->
    case unicode:characters_to_list(B, utf8) of
        Chars when is_list(Chars) -> [$", [esc(C) || C <- Chars], $"];
        _ -> [<<"{\"$bytes\":">>, json(binary_to_list(B)), $}]
    end;
json(Other) -> json(iolist_to_binary(io_lib:format("~p", [Other]))).

key(K) when is_atom(K); is_binary(K) -> K;
key(K) -> iolist_to_binary(io_lib:format("~p", [K])).

esc($") -> <<"\\\"">>;
esc($\\) -> <<"\\\\">>;
esc(C) when C < 16#20 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> unicode:characters_to_binary([C]).

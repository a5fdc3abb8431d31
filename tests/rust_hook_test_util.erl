%% @doc Helpers for the integration tests: start the real plugin (config mapped through
%% its real schema) with a real hook library on the stand-in host, and collect what the
%% test library reports.
-module(rust_hook_test_util).

-export([lib/1, start/1, start/2, stop/0, with_plugin/3]).
-export([probe_start/0, probe_stop/0, reports/0, reports/1, await_reports/2, await_reports_any/1,
         flush_reports/0]).
-export([get/2, norm/1, capture_logs/1]).

-define(AWAIT_MS, 10000).

%% @doc The built library `native/<Name>' (release build; from `$RUST_HOOK_LIB_DIR'
%% when set, e.g. an AddressSanitizer build, see tests/asan.sh).
lib(Name) ->
    Dir = case os:getenv("RUST_HOOK_LIB_DIR") of
              false -> emqx_double:repo_path("target/release");
              D -> D
          end,
    Path = filename:join(Dir, "lib" ++ Name ++ ".so"),
    true = filelib:is_regular(Path) orelse error({not_built, Path, "run make build"}),
    Path.

%% @doc Loads the plugin with library `Name' and extra config lines.
start(Name) -> start(Name, []).

start(Name, ExtraLines) ->
    ok = emqx_double:start(),
    Path = case Name of
               {path, P} -> P;
               _ -> lib(Name)
           end,
    Conf = ["exhook.drivers = rust\n",
            "exhook.drivers.rust.path = ", Path, "\n"
            | [[L, "\n"] || L <- ExtraLines]],
    File = filename:join(tmp_dir(), "emqx_rust_hook.conf"),
    ok = file:write_file(File, Conf),
    %% EMQX reads a plugin's conf from its etc dir (`rust_hook reload' reads it again).
    ok = application:set_env(emqx_double, plugins_etc_dir, tmp_dir()),
    emqx_plugins:load(emqx_rust_hook, File).

%% @doc Unloads the plugin (its prep_stop unregisters the hooks).
stop() ->
    _ = emqx_plugins:unload(emqx_rust_hook),
    ok.

%% @doc An EUnit fixture: the plugin with library `Name' around `Tests'.
with_plugin(Name, Extra, Tests) ->
    {setup,
     fun() -> probe_start(), ok = start(Name, Extra) end,
     fun(_) -> stop(), probe_stop() end,
     Tests}.

tmp_dir() ->
    Dir = filename:join(["/tmp", "emqx_rust_hook_tests", os:getpid()]),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Dir.

%%--------------------------------------------------------------------------------------
%% The probe: a registered process that keeps what the test library sends it.

%% @doc Starts the probe `rust_hook_probe'.
probe_start() ->
    probe_stop(),
    Pid = spawn(fun() -> probe([]) end),
    register(rust_hook_probe, Pid),
    ok.

%% @doc Stops the probe.
probe_stop() ->
    case whereis(rust_hook_probe) of
        undefined -> ok;
        Pid -> unregister(rust_hook_probe), exit(Pid, kill), ok
    end.

probe(Acc) ->
    receive
        {take, From, Ref} -> From ! {Ref, lists:reverse(Acc)}, probe([]);
        Report -> probe([Report | Acc])
    end.

%% @doc Every report since the last call, oldest first, normalised with `norm/1'.
reports() ->
    Ref = make_ref(),
    rust_hook_probe ! {take, self(), Ref},
    receive {Ref, Reports} -> [norm(R) || R <- Reports] after 5000 -> error(probe_timeout) end.

%% @doc A report as plain data: map keys as binaries, serde's `__struct__' tags and
%% newtype tags removed, `nil' (serde's None) as `undefined'.
norm(M) when is_map(M) ->
    maps:from_list([{key(K), norm(V)} || {K, V} <- maps:to_list(M), K =/= '__struct__']);
norm(L) when is_list(L) -> [norm(X) || X <- L];
norm(T) when is_tuple(T) -> list_to_tuple([norm(X) || X <- tuple_to_list(T)]);
norm(nil) -> undefined;
norm(B) when is_boolean(B) -> B;
norm(undefined) -> undefined;
norm(A) when is_atom(A) -> atom_to_binary(A, utf8);
norm(X) -> X.

key(K) when is_atom(K) -> atom_to_binary(K, utf8);
key(K) -> K.

%% @doc The reports of one hook (a binary such as <<"client.connect">>).
reports(Hook) ->
    [R || R <- reports(), get(<<"hook">>, R) =:= Hook].

%% @doc The reports of `Hook', waiting until there are `N' (notifications run on the
%% SDK's workers, after the hook call returned); at most 10 s (hang detection). To
%% check that a call reports nothing, follow it with one that does and wait for that
%% one (see rust_hook_decode_tests): a fixed sleep proves nothing.
await_reports(Hook, N) when N > 0 ->
    await_reports(Hook, N, erlang:monotonic_time(millisecond) + ?AWAIT_MS, []).

await_reports(Hook, N, Deadline, Acc0) ->
    Acc = Acc0 ++ reports(Hook),
    case length(Acc) >= N orelse erlang:monotonic_time(millisecond) > Deadline of
        true -> Acc;
        false -> timer:sleep(5), await_reports(Hook, N, Deadline, Acc)
    end.

%% @doc All reports, waiting until there are `N'; at most 10 s (hang detection).
await_reports_any(N) ->
    await_reports_any(N, erlang:monotonic_time(millisecond) + ?AWAIT_MS, []).

await_reports_any(N, Deadline, Acc0) ->
    Acc = Acc0 ++ reports(),
    case length(Acc) >= N orelse erlang:monotonic_time(millisecond) > Deadline of
        true -> Acc;
        false -> timer:sleep(5), await_reports_any(N, Deadline, Acc)
    end.

%% @doc Drops the pending reports.
flush_reports() -> _ = reports(), ok.

%% @doc A field of a report: `get(<<"clientinfo">>, R)' or a path
%% `get([<<"message">>, <<"topic">>], R)'.
get([], V) -> V;
get([K | Rest], Map) -> get(Rest, maps:get(K, Map));
get(Key, Map) -> maps:get(Key, Map).

%% @doc Runs `Fun' and returns `{Result, LogEvents}' of the logger events it caused.
capture_logs(Fun) ->
    Id = list_to_atom("rust_hook_capture_" ++ integer_to_list(erlang:unique_integer([positive]))),
    Self = self(),
    ok = logger:add_handler(Id, rust_hook_log_capture, #{config => #{to => Self}}),
    try
        Result = Fun(),
        %% Logger handlers run in the process that logs, before it goes on: what the
        %% plugin logged in Fun's processes is in the mailbox now. Lines of the
        %% library's own code are in once its log queue is empty (log_stats) and the
        %% plugin's logger process has handled what was sent to it before this call.
        log_drained(erlang:monotonic_time(millisecond) + ?AWAIT_MS),
        _ = catch sys:get_state(emqx_rust_hook_logger, ?AWAIT_MS),
        {Result, collect(Id)}
    after
        logger:remove_handler(Id)
    end.

log_drained(Deadline) ->
    case catch emqx_rust_hook_nif:log_stats() of
        #{queued := 0, in_flight := 0} -> ok;
        #{} = Stats ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({log_not_drained, Stats});
                false -> timer:sleep(5), log_drained(Deadline)
            end;
        _ -> ok    % no library loaded: nothing can be queued
    end.

collect(Id) ->
    receive
        {rust_hook_log, Id, Event} -> [Event | collect(Id)]
    after 0 -> []
    end.

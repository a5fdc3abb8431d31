%% @doc Publishes the library's per-hook counters as EMQX metrics, so that they show in
%% the dashboard and `emqx_ctl broker metrics' like the original plugin's `exhook.<driver>.<hook>'
%% counters: `exhook.rust.<hook>' (calls) and `exhook.rust.<hook>.failed' (errors,
%% panics, timeouts, overloads and dropped notifications); and the latency of sampled
%% calls (emqx_rust_hook_latency) as gauges `exhook.rust.<hook>.p50_us', `.p99_us' and
%% `.max_us' (microseconds). The counters are read from the library once a second, so
%% hook calls pay nothing for them.
-module(emqx_rust_hook_metrics).
-behaviour(gen_server).

-export([start_link/0, sync/0, names/1, latency_names/1]).

-include("emqx_rust_hook.hrl").
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(INTERVAL, 1000).

%% @doc Starts the publisher.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Publishes the counters now (the periodic sync does it every second).
-spec sync() -> ok.
sync() -> gen_server:call(?MODULE, sync).

%% @doc The two metric names of a hookpoint.
-spec names(atom()) -> {atom(), atom()}.
names(Hook) ->
    Base = "exhook.rust." ++ [case C of $. -> $_; _ -> C end || C <- atom_to_list(Hook)],
    {list_to_atom(Base), list_to_atom(Base ++ ".failed")}.

%% @doc The three latency gauges of a hookpoint: p50, p99, max (us).
-spec latency_names(atom()) -> {atom(), atom(), atom()}.
latency_names(Hook) ->
    {Calls, _} = names(Hook),
    Base = atom_to_list(Calls),
    {list_to_atom(Base ++ ".p50_us"), list_to_atom(Base ++ ".p99_us"),
     list_to_atom(Base ++ ".max_us")}.

init([]) ->
    erlang:send_after(?INTERVAL, self(), sync),
    {ok, #{}}.

handle_call(sync, _From, Seen) ->
    {reply, ok, publish(Seen)};
handle_call(_Req, _From, Seen) ->
    {reply, ignored, Seen}.

handle_cast(_Msg, Seen) -> {noreply, Seen}.

handle_info(sync, Seen) ->
    erlang:send_after(?INTERVAL, self(), sync),
    {noreply, publish(Seen)};
handle_info(_Info, Seen) ->
    {noreply, Seen}.

%% Adds what each counter gained since the last sync. `Seen' maps a metric name to the
%% library's count at the last sync (and `{created, Name}' to true once the metric was
%% created); a restarted library starts again from zero.
publish(Seen) ->
    Stats = try (emqx_rust_hook_driver:nif()):stats() catch error:_ -> #{} end,
    publish_latency(maps:fold(fun(Hook, S, Acc) ->
                      {Calls, Failed} = names(Hook),
                      Fails = lists:sum([maps:get(K, S, 0)
                                         || K <- [errors, panics, timeouts, overloads, dropped]]),
                      Acc1 = bump(Calls, maps:get(calls, S, 0), Acc),
                      bump(Failed, Fails, Acc1)
              end, Seen, Stats)).

%% Sets the latency gauges of every hook the library has (created once each).
publish_latency(Seen) ->
    case emqx_rust_hook_driver:info() of
        not_running -> Seen;
        #{hooks := Hooks} ->
            lists:foldl(
              fun(#hook{name = Name, lat = Lat}, Acc) ->
                      #{p50 := P50, p99 := P99, max := Max} = emqx_rust_hook_latency:summary(Lat),
                      {N50, N99, NMax} = latency_names(Name),
                      lists:foldl(fun({N, V}, A) -> gauge(N, V, A) end, Acc,
                                  [{N50, P50}, {N99, P99}, {NMax, Max}])
              end, Seen, Hooks)
    end.

%% A gauge is created only when setting it fails (it does not exist yet): EMQX logs every
%% emqx_metrics:new/2 of a known name, and the gauges outlive a reload of the plugin.
gauge(Name, Value, Seen) ->
    try emqx_metrics:set(Name, Value)
    catch error:_ ->
            ok = emqx_metrics:new(gauge, Name),
            emqx_metrics:set(Name, Value)
    end,
    Seen.

bump(Name, Now, Seen) ->
    Before = maps:get(Name, Seen, 0),
    Delta = case Now >= Before of true -> Now - Before; false -> Now end,
    case Delta of
        0 -> Seen#{Name => Now};
        _ ->
            %% Created once: EMQX 4.2's emqx_metrics:new/1 logs "already exists" at
            %% info level on every call for a known name.
            case maps:is_key({created, Name}, Seen) of
                true -> ok;
                false -> ok = emqx_metrics:new(Name)
            end,
            emqx_metrics:inc(Name, Delta),
            Seen#{Name => Now, {created, Name} => true}
    end.

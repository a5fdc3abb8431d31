%% @doc Supervises the plugin's processes: the log sink of the Rust library and the
%% metrics publisher. The library itself runs inside the callers (inline hooks) and on
%% the SDK's own threads.
-module(emqx_rust_hook_sup).
-behaviour(supervisor).

-export([start_link/0]).
-export([init/1]).

%% @doc Starts the supervisor, the log sink and the metrics publisher.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Logger = #{id => emqx_rust_hook_logger,
               start => {emqx_rust_hook_logger, start_link, []},
               restart => permanent,
               shutdown => 5000,
               type => worker,
               modules => [emqx_rust_hook_logger]},
    Metrics = #{id => emqx_rust_hook_metrics,
                start => {emqx_rust_hook_metrics, start_link, []},
                restart => permanent,
                shutdown => 5000,
                type => worker,
                modules => [emqx_rust_hook_metrics]},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Logger, Metrics]}}.

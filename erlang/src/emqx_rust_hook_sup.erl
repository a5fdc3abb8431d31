%% @doc Supervises the plugin's processes: the log sink of the Rust library. The library
%% itself runs inside the callers (inline hooks) and on the SDK's own threads.
-module(emqx_rust_hook_sup).
-behaviour(supervisor).

-export([start_link/0]).
-export([init/1]).

%% @doc Starts the supervisor and the log sink.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

init([]) ->
    Logger = #{id => emqx_rust_hook_logger,
               start => {emqx_rust_hook_logger, start_link, []},
               restart => permanent,
               shutdown => 5000,
               type => worker,
               modules => [emqx_rust_hook_logger]},
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Logger]}}.

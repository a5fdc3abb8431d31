%% @doc Supervises the configured driver (at most one: `rust').
-module(emqx_rust_hook_sup).
-behaviour(supervisor).

-export([start_link/0, start_driver/2, stop_driver/0]).
-export([init/1]).

%% @doc Starts the supervisor with no driver yet.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts a driver; `{error, Reason}' when it cannot start (the node keeps running).
-spec start_driver(atom(), list()) -> ok | {error, term()}.
start_driver(Name, Opts) ->
    Spec = #{id => driver,
             start => {emqx_rust_hook_driver, start_link, [Name, Opts]},
             restart => temporary,
             shutdown => 15000,
             type => worker,
             modules => [emqx_rust_hook_driver]},
    case supervisor:start_child(?MODULE, Spec) of
        {ok, _Pid} -> ok;
        {error, {Reason, _Child}} when is_tuple(Reason); is_atom(Reason) -> {error, Reason};
        {error, Reason} -> {error, Reason}
    end.

%% @doc Stops the driver (unregisters its hooks, stops the library).
-spec stop_driver() -> ok.
stop_driver() ->
    _ = supervisor:terminate_child(?MODULE, driver),
    _ = supervisor:delete_child(?MODULE, driver),
    ok.

init([]) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, []}}.

%% @doc Writes the Rust library's `tracing' output to the Erlang logger. The SDK sends
%% `{rust_log, Level, Target, Message}' here from its log thread.
-module(emqx_rust_hook_logger).
-behaviour(gen_server).

-export([start_link/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% @doc Starts the registered log sink.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

init([]) -> {ok, #{}}.

handle_call(_Req, _From, State) -> {reply, ignored, State}.

handle_cast(_Msg, State) -> {noreply, State}.

handle_info({rust_log, Level, Target, Message}, State) ->
    logger:log(Level, "~ts: ~ts", [Target, Message], #{domain => [emqx_rust_hook]}),
    {noreply, State};
handle_info(_Info, State) ->
    {noreply, State}.

-module(emqx_rust_hook_app).
-behaviour(application).
-emqx_plugin(?MODULE).
-export([start/2, stop/1]).
start(_Type, _Args) -> {ok, self()}.
stop(_State) -> ok.

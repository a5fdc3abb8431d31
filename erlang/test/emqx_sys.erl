%%--------------------------------------------------------------------
%% TEST DOUBLE of the EMQX 4.2.14 module `emqx_sys', used only by tests.
%% version/0 returns "4.2.14" unless the application env
%% `emqx_double, version' says otherwise (so tests can pretend 4.3/4.4).
%%--------------------------------------------------------------------
-module(emqx_sys).

-export([version/0, sysdescr/0]).

%% @doc The broker version string, e.g. "4.2.14".
version() ->
    application:get_env(emqx_double, version, "4.2.14").

%% @doc The broker description string.
sysdescr() ->
    "EMQ X Broker".
